/* SPDX-License-Identifier: GPL-2.0 */
/* runqslower (seed 004, libbpf-tools runqslower): report each task that
 * waited on a run queue longer than min_us before getting a CPU.
 *
 * Same hooks as runqlat: a task becomes runnable at sched_wakeup,
 * sched_wakeup_new, or when sched_switch preempts it while still runnable;
 * its wait ends when sched_switch switches it in, and a wait over min_us is
 * sent to user space through the ring buffer.
 *
 * The hooks come twice, one set loaded (probe::apply_raw_tp_style):
 * tp_btf/... where the kernel takes it, raw_tp/... elsewhere; both read the
 * tasks with BPF_CORE_READ. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "runqslower.h"
#include "drops.bpf.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 10240
#define TASK_RUNNING 0

const volatile __u64 min_us = 0;
const volatile pid_t targ_pid = 0;	/* -t: thread id */
const volatile pid_t targ_tgid = 0;	/* -p: process id */
/* -c: only tasks whose comm starts with targ_comm (as libbpf-tools). */
const volatile bool filter_comm = false;
const volatile char targ_comm[TASK_COMM_LEN] = {};

/* tid -> when it became runnable (ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* For the skeleton's Rust type. */
struct event _event = {};

/* p's comm starts with targ_comm. Checked when p starts waiting, so a wait
 * is reported under the filter if the task had the name then. */
static __always_inline bool comm_allowed(struct task_struct *p)
{
	char comm[TASK_COMM_LEN] = {};
	int i;

	if (!filter_comm)
		return true;
	BPF_CORE_READ_STR_INTO(&comm, p, comm);
	for (i = 0; i < TASK_COMM_LEN && targ_comm[i] != '\0'; i++) {
		if (comm[i] != targ_comm[i])
			return false;
	}
	return true;
}

static __always_inline int trace_enqueue(struct task_struct *p)
{
	u32 tgid = BPF_CORE_READ(p, tgid);
	u32 pid = BPF_CORE_READ(p, pid);
	u64 ts;

	if (!pid)
		return 0;
	if (targ_tgid && targ_tgid != tgid)
		return 0;
	if (targ_pid && targ_pid != pid)
		return 0;
	if (!comm_allowed(p))
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next)
{
	struct event *e;
	u64 *tsp, now;
	u32 pid;
	s64 delta;

	/* A task preempted while runnable waits again from now on. */
	if (get_task_state(prev) == TASK_RUNNING)
		trace_enqueue(prev);

	pid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - *tsp;
	bpf_map_delete_elem(&start, &pid);
	if (delta < 0)
		return 0;
	delta /= 1000U;
	if (min_us && (u64)delta <= min_us)
		return 0;

	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	e->delta_us = delta;
	e->tid = pid;
	e->pid = BPF_CORE_READ(next, tgid);
	e->prev_tid = BPF_CORE_READ(prev, pid);
	e->cpu = bpf_get_smp_processor_id();
	BPF_CORE_READ_STR_INTO(&e->comm, next, comm);
	BPF_CORE_READ_STR_INTO(&e->prev_comm, prev, comm);
	submit_event(&events, e);
	return 0;
}

#include "sched_hooks.bpf.h"
