// SPDX-License-Identifier: GPL-2.0
/* mc_slow — modcoalesced test module. Its init sleeps for delay_ms milliseconds; with hold=1 it
 * then waits until 0 is written to /sys/module/mc_slow/parameters/hold (which exists while init
 * runs), for at most 45 s: a load that stays in flight exactly as long as a test needs. */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
static unsigned int delay_ms = 1000;
module_param(delay_ms, uint, 0444);
static bool hold;
module_param(hold, bool, 0644);
static int __init mc_slow_init(void)
{
	unsigned int i;

	msleep(delay_ms);
	for (i = 0; READ_ONCE(hold) && i < 900; i++)
		msleep(50);
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
