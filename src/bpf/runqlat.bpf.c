/* SPDX-License-Identifier: GPL-2.0 */
/* Lesson 9: runqlat — summarize run queue (scheduler) latency, the time a
 * task waits runnable before it gets a CPU, as log2 histograms.
 *
 * A task becomes runnable when it is woken (sched_wakeup, sched_wakeup_new)
 * or preempted while still runnable (sched_switch with prev->__state ==
 * TASK_RUNNING); its latency ends when sched_switch switches it in.
 *
 * The hooks come twice, one set loaded (probe::apply_raw_tp_style):
 * tp_btf/... where the kernel takes it, raw_tp/... elsewhere. Both read the
 * tasks with BPF_CORE_READ so one body serves both.
 *
 * Histograms live in a hash keyed by tgid (-P), tid (-L), pid namespace
 * (--pidnss) or ~0 for the whole system; user space prints and deletes them
 * every interval.
 *
 * With the cgroup filter (-c) a wait is counted when its task next leaves
 * the CPU (task_hist.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "runqlat.h"
#include "bits.bpf.h"
#include "maps.bpf.h"
#include "core_fixes.bpf.h"
#include "cgroup.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

const volatile bool targ_per_process = false;
const volatile bool targ_per_thread = false;
const volatile bool targ_per_pidns = false;
const volatile pid_t targ_tgid = 0;

/* The inode number of the task's pid namespace: task_active_pid_ns(),
 * i.e. pid->numbers[pid->level].ns. */
static __always_inline unsigned int pid_namespace(struct task_struct *task)
{
	struct pid *pid;
	unsigned int level;
	struct upid upid;

	pid = BPF_CORE_READ(task, thread_pid);
	level = BPF_CORE_READ(pid, level);
	bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]);
	return BPF_CORE_READ(upid.ns, ns.inum);
}

/* The histogram of `task`'s waits: -P, -L, --pidnss or the system's. */
static __always_inline u32 hist_key(struct task_struct *task)
{
	if (targ_per_process)
		return BPF_CORE_READ(task, tgid);
	if (targ_per_thread)
		return BPF_CORE_READ(task, pid);
	if (targ_per_pidns)
		return pid_namespace(task);
	return -1;
}

#include "task_hist.bpf.h"

static __always_inline int trace_enqueue(struct task_struct *p)
{
	u32 tgid = BPF_CORE_READ(p, tgid);
	u32 pid = BPF_CORE_READ(p, pid);
	u64 ts;

	if (!pid)
		return 0;
	if (targ_tgid && targ_tgid != tgid)
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next)
{
	u32 prev_pid = BPF_CORE_READ(prev, pid);
	u32 pid = BPF_CORE_READ(next, pid);
	u64 *tsp;
	s64 delta;

	if (filter_cg) {
		/* prev is the current task: its parked wait can be judged now. */
		bool allowed = cgroup_allowed();

		count_parked(prev, prev_pid, allowed);
		if (allowed && get_task_state(prev) == TASK_RUNNING)
			trace_enqueue(prev);
	} else if (get_task_state(prev) == TASK_RUNNING) {
		trace_enqueue(prev);
	}

	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	if (delta >= 0)
		count_or_park(next, pid, delta);
	bpf_map_delete_elem(&start, &pid);
	return 0;
}

#include "sched_hooks.bpf.h"
