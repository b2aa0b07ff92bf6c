// SPDX-License-Identifier: GPL-2.0
/* mc_inst — modcoalesced test module. Has an "install" command in the fixtures. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

static int __init mc_inst_init(void)
{
	return 0;
}

static void __exit mc_inst_exit(void)
{
}

module_init(mc_inst_init);
module_exit(mc_inst_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_inst");
MODULE_ALIAS("mctest:inst");
