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
 * The cgroup filter (-c) needs care: bpf_current_task_under_cgroup() can
 * only test the *current* task, and in sched_switch that is prev, not the
 * task whose wait just ended. So with -c the wait of `next` is parked in
 * `pending` and counted when that task next leaves the CPU (then it is
 * current and its cgroup can be tested): only tasks in the cgroup are
 * counted, the ones outside never. */
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

#define MAX_ENTRIES 10240
#define TASK_RUNNING 0

const volatile bool targ_per_process = false;
const volatile bool targ_per_thread = false;
const volatile bool targ_per_pidns = false;
const volatile bool targ_ms = false;
const volatile pid_t targ_tgid = 0;
/* bpfkit-exporter: also keep the sum of the waits (a Prometheus _sum). */
const volatile bool targ_sum = false;

/* tid -> when it became runnable (ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/* With -c: tid -> its last run queue wait (ns), not yet counted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* For the skeleton's Rust type. */
struct hist _hist = {};

static struct hist zero;

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

/* Counts a wait of delta ns by task in its histogram. */
static __always_inline void record(struct task_struct *task, u64 delta)
{
	struct hist *histp;
	u64 slot;
	u32 hkey;

	if (targ_per_process)
		hkey = BPF_CORE_READ(task, tgid);
	else if (targ_per_thread)
		hkey = BPF_CORE_READ(task, pid);
	else if (targ_per_pidns)
		hkey = pid_namespace(task);
	else
		hkey = -1;
	histp = bpf_map_lookup_or_try_init(&hists, &hkey, &zero);
	if (!histp)
		return;
	if (!histp->comm[0])
		BPF_CORE_READ_STR_INTO(&histp->comm, task, comm);
	if (targ_sum)
		__sync_fetch_and_add(&histp->sum_ns, delta);
	if (targ_ms)
		delta /= 1000000U;
	else
		delta /= 1000U;
	slot = log2_slot(delta, MAX_SLOTS);
	__sync_fetch_and_add(&histp->slots[slot], 1);
}

static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next)
{
	u32 prev_pid = BPF_CORE_READ(prev, pid);
	u32 pid = BPF_CORE_READ(next, pid);
	u64 *tsp, *parked;
	s64 delta;

	if (filter_cg) {
		/* prev is the current task: its parked wait can be judged now. */
		bool allowed = cgroup_allowed();

		parked = bpf_map_lookup_elem(&pending, &prev_pid);
		if (parked) {
			u64 d = *parked;

			bpf_map_delete_elem(&pending, &prev_pid);
			if (allowed)
				record(prev, d);
		}
		if (allowed && get_task_state(prev) == TASK_RUNNING)
			trace_enqueue(prev);
	} else if (get_task_state(prev) == TASK_RUNNING) {
		trace_enqueue(prev);
	}

	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	if (delta >= 0) {
		if (filter_cg) {
			u64 d = delta;

			bpf_map_update_elem(&pending, &pid, &d, BPF_ANY);
		} else {
			record(next, delta);
		}
	}
	bpf_map_delete_elem(&start, &pid);
	return 0;
}

#include "sched_hooks.bpf.h"
