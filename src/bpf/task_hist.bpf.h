/* SPDX-License-Identifier: GPL-2.0 */
/* The per-task time histograms of the scheduler tools (runqlat, cpudist):
 * when each task's stretch began, log2 histograms of the stretches, and the
 * cgroup filter's parking.
 *
 * The cgroup filter (-c) needs care: bpf_current_task_under_cgroup() can
 * only test the *current* task, and in sched_switch that is prev. A time
 * that ends for next is parked in `pending` and counted when next leaves
 * the CPU again (then it is current and its cgroup can be tested): only
 * tasks in the cgroup are counted, the ones outside never.
 *
 * Include it after the tool's header (struct hist, MAX_SLOTS), bits.bpf.h,
 * maps.bpf.h and cgroup.bpf.h, and after defining
 *   static u32 hist_key(struct task_struct *task);
 * the histogram a task's times go to (~0: one for the whole system). */
#ifndef __BPFKIT_TASK_HIST_BPF_H
#define __BPFKIT_TASK_HIST_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#define TASK_HIST_ENTRIES 10240

const volatile bool targ_ms = false;
/* bpfkit-exporter: also keep the sum of the times (a Prometheus _sum). */
const volatile bool targ_sum = false;

/* tid -> when its current stretch began (ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TASK_HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/* With -c: tid -> its last time (ns), not yet counted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TASK_HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TASK_HIST_ENTRIES);
	__type(key, u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* For the skeleton's Rust type. */
struct hist _hist = {};

static struct hist zero;

/* Counts a time of delta ns of `task` in its histogram. */
static __always_inline void record(struct task_struct *task, u64 delta)
{
	u32 hkey = hist_key(task);
	struct hist *histp = bpf_map_lookup_or_try_init(&hists, &hkey, &zero);
	u64 slot;

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

/* prev (the current task, `allowed` by the cgroup filter or not) leaves
 * the CPU: a time parked for it is counted now, or dropped. */
static __always_inline void count_parked(struct task_struct *prev, u32 prev_pid, bool allowed)
{
	u64 *parked = bpf_map_lookup_elem(&pending, &prev_pid);
	u64 d;

	if (!parked)
		return;
	d = *parked;
	bpf_map_delete_elem(&pending, &prev_pid);
	if (allowed)
		record(prev, d);
}

/* A time of next (tid `pid`, not the current task) ended: counted, or with
 * -c parked until next is current. */
static __always_inline void count_or_park(struct task_struct *next, u32 pid, u64 delta)
{
	if (filter_cg)
		bpf_map_update_elem(&pending, &pid, &delta, BPF_ANY);
	else
		record(next, delta);
}

#endif /* __BPFKIT_TASK_HIST_BPF_H */
