// SPDX-License-Identifier: GPL-2.0
/* mc_c — modcoalesced test module. End of the chain a -> b -> c; "level" comes from modprobe.d in the fixtures. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
static int level;
module_param(level, int, 0444);

int mc_c_value(void)
{
	return level;
}
EXPORT_SYMBOL_GPL(mc_c_value);
static int __init mc_c_init(void)
{
	return 0;
}

static void __exit mc_c_exit(void)
{
}

module_init(mc_c_init);
module_exit(mc_c_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_c");
MODULE_ALIAS("mctest:c");
