// SPDX-License-Identifier: GPL-2.0
/* mc_self — modcoalesced test module. Its init asks the kernel for its own alias, as drivers
 * that request_module() a helper module sometimes do: a loader must not wait on itself. */
#include <linux/kmod.h>
#include <linux/module.h>

static int request_result = -1;
module_param(request_result, int, 0444);

static int __init mc_self_init(void)
{
	request_result = request_module("mctest:self");
	pr_info("mc_self: request_module(mctest:self) = %d\n", request_result);
	return 0;
}

static void __exit mc_self_exit(void)
{
}

module_init(mc_self_init);
module_exit(mc_self_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_self");
MODULE_ALIAS("mctest:self");
