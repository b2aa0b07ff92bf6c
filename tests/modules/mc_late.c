// SPDX-License-Identifier: GPL-2.0
/* mc_late — modcoalesced test module. Installed only after a first lookup, to test index reloads. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

static int __init mc_late_init(void)
{
	return 0;
}

static void __exit mc_late_exit(void)
{
}

module_init(mc_late_init);
module_exit(mc_late_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_late");
MODULE_ALIAS("mctest:late");
