// SPDX-License-Identifier: GPL-2.0
/* mc_b — modcoalesced test module. Middle of the chain: needs mc_c. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
int mc_c_value(void);
static int flag;
module_param(flag, int, 0444);

int mc_b_value(void)
{
	return mc_c_value() + flag;
}
EXPORT_SYMBOL_GPL(mc_b_value);
static int __init mc_b_init(void)
{
	return 0;
}

static void __exit mc_b_exit(void)
{
}

module_init(mc_b_init);
module_exit(mc_b_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_b");
MODULE_ALIAS("mctest:b");
