// SPDX-License-Identifier: GPL-2.0
/* mc_fail — modcoalesced test module. Its init always fails with -ENODEV. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

static int __init mc_fail_init(void)
{
	return -ENODEV;
}

static void __exit mc_fail_exit(void)
{
}

module_init(mc_fail_init);
module_exit(mc_fail_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_fail");
MODULE_ALIAS("mctest:fail");
