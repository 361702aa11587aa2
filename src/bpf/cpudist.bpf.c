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

#define MAX_ENTRIES 10240

const volatile bool targ_per_process = false;
const volatile bool targ_per_thread = false;
const volatile bool targ_offcpu = false;
const volatile bool targ_ms = false;
const volatile pid_t targ_tgid = 0;
/* bpfkit-exporter: also keep the sum of the times (a Prometheus _sum). */
const volatile bool targ_sum = false;

/* tid -> when its current stretch (on- or off-CPU) began (ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

/* -O with -c: tid -> its last off-CPU time (ns), not yet counted. */
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

static __always_inline bool wanted(u32 tgid, u32 pid)
{
	/* The idle tasks (pid 0, one per CPU) are no task's time. */
	return pid && (!targ_tgid || targ_tgid == tgid);
}

static __always_inline void record(struct task_struct *task, u64 delta)
{
	struct hist *histp;
	u64 slot;
	u32 hkey;

	if (targ_per_process)
		hkey = BPF_CORE_READ(task, tgid);
	else if (targ_per_thread)
		hkey = BPF_CORE_READ(task, pid);
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
	if (filter_cg) {
		u64 *parked = bpf_map_lookup_elem(&pending, &prev_pid);

		if (parked) {
			u64 d = *parked;

			bpf_map_delete_elem(&pending, &prev_pid);
			if (allowed)
				record(prev, d);
		}
	}
	if (allowed && wanted(prev_tgid, prev_pid))
		bpf_map_update_elem(&start, &prev_pid, &now, BPF_ANY);
	delta = take(pid, now);
	if (delta < 0)
		return 0;
	if (filter_cg) {
		u64 d = delta;

		bpf_map_update_elem(&pending, &pid, &d, BPF_ANY);
	} else {
		record(next, delta);
	}
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
