// SPDX-License-Identifier: GPL-2.0
/* mc_storm — modcoalesced test module, in the spirit of the kernel's own kmod selftests
 * (lib/test_kmod.c): its init starts `threads` kernel threads that all call
 * request_module(target) at once, waits for every one, and reports how many calls returned 0.
 * The kernel runs its modprobe (kernel.modprobe) once per call. */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/kmod.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#define MC_STORM_THREADS_MAX 50 /* the kernel runs at most 50 modprobes at once */

static unsigned int threads = 32;
module_param(threads, uint, 0444);
static char *target = "mctest:post";
module_param(target, charp, 0444);
static int succeeded;
module_param(succeeded, int, 0444);
static int failed;
module_param(failed, int, 0444);
static int first_error;
module_param(first_error, int, 0444);

static atomic_t n_ok, n_failed, n_left;
static DECLARE_COMPLETION(all_done);

static int mc_storm_thread(void *unused)
{
	int r = request_module("%s", target);

	if (r == 0)
		atomic_inc(&n_ok);
	else if (atomic_inc_return(&n_failed) == 1)
		first_error = r;
	if (atomic_dec_and_test(&n_left))
		complete(&all_done);
	return 0;
}

static int __init mc_storm_init(void)
{
	unsigned int i, started = 0;

	threads = clamp(threads, 1u, (unsigned int)MC_STORM_THREADS_MAX);
	atomic_set(&n_left, threads + 1);
	for (i = 0; i < threads; i++) {
		struct task_struct *t = kthread_run(mc_storm_thread, NULL, "mc_storm/%u", i);

		if (IS_ERR(t)) {
			atomic_inc(&n_failed);
			atomic_dec(&n_left);
			continue;
		}
		started++;
	}
	if (!atomic_dec_and_test(&n_left))
		wait_for_completion(&all_done);
	succeeded = atomic_read(&n_ok);
	failed = atomic_read(&n_failed);
	pr_info("mc_storm: %u threads, request_module(%s): %d succeeded, %d failed\n", started,
		target, succeeded, failed);
	return 0;
}

static void __exit mc_storm_exit(void)
{
}

module_init(mc_storm_init);
module_exit(mc_storm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modcoalesced test module mc_storm");
