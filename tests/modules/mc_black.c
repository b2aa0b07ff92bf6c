// SPDX-License-Identifier: GPL-2.0
/* mc_black — modcoalesced test module. Blacklisted in the fixtures. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

static int __init mc_black_init(void)
{
	return 0;
}

static void __exit mc_black_exit(void)
{
}

module_init(mc_black_init);
module_exit(mc_black_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_black");
MODULE_ALIAS("mctest:black");
