// SPDX-License-Identifier: GPL-2.0
/* mc_a — modcoalesced test module. Head of the chain: needs mc_b, hence mc_c. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
int mc_b_value(void);
static int __init mc_a_init(void)
{
	pr_info("mc_a: b says %d\\n", mc_b_value());
	return 0;
}

static void __exit mc_a_exit(void)
{
}

module_init(mc_a_init);
module_exit(mc_a_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_a");
MODULE_ALIAS("mctest:a");
