// SPDX-License-Identifier: GPL-2.0
/* mc_soft — modcoalesced test module. A pre-softdep of mc_a (modprobe.d). */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

static int __init mc_soft_init(void)
{
	return 0;
}

static void __exit mc_soft_exit(void)
{
}

module_init(mc_soft_init);
module_exit(mc_soft_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_soft");
MODULE_ALIAS("mctest:soft");
