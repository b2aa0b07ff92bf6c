// SPDX-License-Identifier: GPL-2.0
/* mc_slow — modcoalesced test module. Its init sleeps for delay_ms milliseconds. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
static unsigned int delay_ms = 1000;
module_param(delay_ms, uint, 0444);
static int __init mc_slow_init(void)
{
	msleep(delay_ms);
	return 0;
}

static void __exit mc_slow_exit(void)
{
}

module_init(mc_slow_init);
module_exit(mc_slow_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_slow");
MODULE_ALIAS("mctest:slow");
