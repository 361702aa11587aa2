/* SPDX-License-Identifier: GPL-2.0 */
/* cpudist — on-CPU time per task (each stretch from being switched in to
 * being switched out) as log2 histograms; -O: off-CPU time (from being
 * switched out to being switched in again), as libbpf-tools cpudist.
 *
 * The hook comes twice, one loaded (probe::apply_raw_tp_style): tp_btf
 * where the kernel takes it, raw_tp elsewhere; both read the tasks with
 * BPF_CORE_READ so one body serves both.
 *
 * Fixes over libbpf-tools:
 *  - on-CPU: every stretch is counted, not only those ending in preemption
 *    (libbpf-tools tests prev's state == TASK_RUNNING, so a task that
 *    blocks or sleeps never has its on-CPU time counted);
 *  - -c: bpf_current_task_under_cgroup() tests the current task, which in
 *    sched_switch is prev. libbpf-tools gates next's bookkeeping on prev's
 *    cgroup. Here only prev is judged: on-CPU, its stretch ends now; -O,
 *    its off-CPU start is recorded now, and the off-CPU time of next is
 *    parked in `pending` and counted when next leaves the CPU again (then
 *    it is current and its cgroup can be tested), as runqlat does. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "cpudist.h"
#include "bits.bpf.h"
#include "maps.bpf.h"
#include "cgroup.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool targ_per_process = false;
const volatile bool targ_per_thread = false;
const volatile bool targ_offcpu = false;
const volatile pid_t targ_tgid = 0;

static __always_inline bool wanted(u32 tgid, u32 pid)
{
	/* The idle tasks (pid 0, one per CPU) are no task's time. */
	return pid && (!targ_tgid || targ_tgid == tgid);
}

/* The histogram of `task`'s times: -P, -L or the system's. */
static __always_inline u32 hist_key(struct task_struct *task)
{
	if (targ_per_process)
		return BPF_CORE_READ(task, tgid);
	if (targ_per_thread)
		return BPF_CORE_READ(task, pid);
	return -1;
}

#include "task_hist.bpf.h"

/* The time since tid's stretch began, which is over (-1 if none). */
static __always_inline s64 take(u32 pid, u64 now)
{
	u64 *tsp = bpf_map_lookup_elem(&start, &pid);
	s64 delta;

	if (!tsp)
		return -1;
	delta = now - *tsp;
	bpf_map_delete_elem(&start, &pid);
	return delta;
}

static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next)
{
	u32 prev_tgid = BPF_CORE_READ(prev, tgid), prev_pid = BPF_CORE_READ(prev, pid);
	u32 tgid = BPF_CORE_READ(next, tgid), pid = BPF_CORE_READ(next, pid);
	u64 now = bpf_ktime_get_ns();
	/* prev is the current task: its cgroup can be tested. */
	bool allowed = cgroup_allowed();
	s64 delta;

	if (!targ_offcpu) {
		/* prev's on-CPU stretch ends; next's begins. */
		delta = take(prev_pid, now);
		if (delta >= 0 && allowed)
			record(prev, delta);
		if (wanted(tgid, pid))
			bpf_map_update_elem(&start, &pid, &now, BPF_ANY);
		return 0;
	}

	/* -O: prev's off-CPU stretch begins; next's ends. */
	if (filter_cg)
		count_parked(prev, prev_pid, allowed);
	if (allowed && wanted(prev_tgid, prev_pid))
		bpf_map_update_elem(&start, &prev_pid, &now, BPF_ANY);
	delta = take(pid, now);
	if (delta >= 0)
		count_or_park(next, pid, delta);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next);
}
