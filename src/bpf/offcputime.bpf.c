/* SPDX-License-Identifier: GPL-2.0 */
/* offcputime — time threads spend off-CPU (blocked, sleeping, preempted),
 * summed per kernel and user stack, as libbpf-tools offcputime.
 *
 * At sched_switch the task leaving the CPU (prev) has its stacks taken
 * (into `stackmap`) and the time parked in `start`, keyed by its tid; when
 * a task comes back on (next), the time since is added to its (tid, tgid,
 * user stack, kernel stack) entry of `info`, in microseconds, if within
 * [min_block_us, max_block_us].
 *
 * The hook comes twice, one loaded (probe::apply_raw_tp_style): tp_btf
 * where the kernel takes it, raw_tp elsewhere. Both read the tasks with
 * BPF_CORE_READ so one body serves both.
 *
 * Fixes over libbpf-tools: entries that find `start` or `info` full are
 * counted (drops.bpf.h) and reported, not lost silently; -U / -K leave out
 * the side not wanted. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "offcputime.h"
#include "core_fixes.bpf.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD 0x00200000 /* I am a kernel thread */
#define MAX_ENTRIES 10240
/* -EFAULT, as bpf_get_stackid() says "no such stack": the side is absent. */
#define NO_STACK -14

const volatile bool kernel_threads_only = false;
const volatile bool user_threads_only = false;
const volatile bool kernel_stacks_only = false;
const volatile bool user_stacks_only = false;
const volatile __u64 max_block_us = -1;
const volatile __u64 min_block_us = 1;
const volatile bool filter_by_tgid = false;
const volatile bool filter_by_pid = false;
const volatile long state = -1;

struct internal_key {
	__u64 start_ts;
	struct key_t key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct internal_key);
	__uint(max_entries, MAX_ENTRIES);
} start SEC(".maps");

/* Value size (depth) and entries are set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 1024);
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key_t);
	__type(value, struct val_t);
	__uint(max_entries, MAX_ENTRIES);
} info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, MAX_PID_NR);
} tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, MAX_TID_NR);
} pids SEC(".maps");

/* For the skeleton's Rust types. */
struct key_t _key = {};
struct val_t _val = {};

static __always_inline bool allow_record(struct task_struct *t)
{
	__u32 tgid = BPF_CORE_READ(t, tgid);
	__u32 pid = BPF_CORE_READ(t, pid);
	unsigned int flags = BPF_CORE_READ(t, flags);

	if (filter_by_tgid && !bpf_map_lookup_elem(&tgids, &tgid))
		return false;
	if (filter_by_pid && !bpf_map_lookup_elem(&pids, &pid))
		return false;
	if (user_threads_only && (flags & PF_KTHREAD))
		return false;
	if (kernel_threads_only && !(flags & PF_KTHREAD))
		return false;
	if (state != -1 && get_task_state(t) != state)
		return false;
	return true;
}

static __always_inline int handle_switch(void *ctx, struct task_struct *prev,
					 struct task_struct *next)
{
	struct internal_key *i_keyp, i_key = {};
	struct val_t *valp, val = {};
	__s64 delta;
	__u32 pid;

	if (allow_record(prev)) {
		pid = BPF_CORE_READ(prev, pid);
		/* To distinguish the idle threads of different CPUs. */
		if (!pid)
			pid = bpf_get_smp_processor_id();
		i_key.key.pid = pid;
		i_key.key.tgid = BPF_CORE_READ(prev, tgid);
		i_key.start_ts = bpf_ktime_get_ns();
		if (kernel_stacks_only || (BPF_CORE_READ(prev, flags) & PF_KTHREAD))
			i_key.key.user_stack_id = NO_STACK;
		else
			i_key.key.user_stack_id = bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK);
		if (user_stacks_only)
			i_key.key.kern_stack_id = NO_STACK;
		else
			i_key.key.kern_stack_id = bpf_get_stackid(ctx, &stackmap, 0);
		if (bpf_map_update_elem(&start, &pid, &i_key, BPF_ANY))
			count_drop();
		BPF_CORE_READ_STR_INTO(&val.comm, prev, comm);
		/* -EEXIST (already there) is the common case. */
		if (bpf_map_update_elem(&info, &i_key.key, &val, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&info, &i_key.key))
			count_drop();
	}

	pid = BPF_CORE_READ(next, pid);
	i_keyp = bpf_map_lookup_elem(&start, &pid);
	if (!i_keyp)
		return 0;
	delta = (__s64)(bpf_ktime_get_ns() - i_keyp->start_ts);
	if (delta < 0)
		goto cleanup;
	delta /= 1000U;
	if (delta < min_block_us || delta > max_block_us)
		goto cleanup;
	valp = bpf_map_lookup_elem(&info, &i_keyp->key);
	if (!valp)
		goto cleanup;
	__sync_fetch_and_add(&valp->delta, delta);

cleanup:
	bpf_map_delete_elem(&start, &pid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, prev, next);
}
