// SPDX-License-Identifier: GPL-2.0
/* mc_shared — modcoalesced test module. The dependency that mc_user1 and mc_user2 share. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
int mc_shared_fn(void)
{
	return 1;
}
EXPORT_SYMBOL_GPL(mc_shared_fn);
static int __init mc_shared_init(void)
{
	return 0;
}

static void __exit mc_shared_exit(void)
{
}

module_init(mc_shared_init);
module_exit(mc_shared_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_shared");
MODULE_ALIAS("mctest:shared");
