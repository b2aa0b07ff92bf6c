// SPDX-License-Identifier: GPL-2.0
/* mc_post — modcoalesced test module. A post-softdep of mc_a (modprobe.d). */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

static int __init mc_post_init(void)
{
	return 0;
}

static void __exit mc_post_exit(void)
{
}

module_init(mc_post_init);
module_exit(mc_post_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_post");
MODULE_ALIAS("mctest:post");
