// SPDX-License-Identifier: GPL-2.0
/* mc_user1 — modcoalesced test module. Needs mc_shared; "mctest:multi" matches it and mc_user2. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
int mc_shared_fn(void);
static int __init mc_user1_init(void)
{
	return mc_shared_fn() - 1;
}

static void __exit mc_user1_exit(void)
{
}

module_init(mc_user1_init);
module_exit(mc_user1_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_user1");
MODULE_ALIAS("mctest:user1");
MODULE_ALIAS("mctest:multi");
