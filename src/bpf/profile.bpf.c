/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* profile — lesson 12: a sampling CPU profiler.
 *
 * User space opens one sampling perf event per online CPU (hardware cycles,
 * or the software cpu-clock where there is no PMU) and attaches this
 * program to each. On every sample it takes the interrupted task's kernel
 * and user stacks:
 *
 *  - by default (libbpf-tools profile) into a stack-trace map, counting
 *    samples per (pid, kernel stack id, user stack id, comm) in `counts`;
 *    user space reads both once at the end, most frequent first;
 *  - with --samples (the lesson) as whole stacks in a ring-buffer event per
 *    sample, printed as they come.
 *
 * Fixes over the lesson: failed ring-buffer reservations and a full
 * `counts` map are counted (drops.bpf.h), not lost silently; idle (the
 * swapper, tid 0) is skipped unless asked for; -p/-L filters. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "profile.h"
#include "drops.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile bool kernel_stacks_only = false;
const volatile bool user_stacks_only = false;
const volatile bool include_idle = false;
const volatile bool filter_by_pid = false;
const volatile bool filter_by_tid = false;
const volatile bool emit_samples = false;
/* Bytes of each stack bpf_get_stack() copies in --samples mode. */
const volatile __u32 stack_bytes = MAX_STACK_DEPTH * sizeof(__u64);

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
	__type(value, __u64);
	__uint(max_entries, MAX_ENTRIES);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, MAX_PID_NR);
} pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, MAX_TID_NR);
} tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* For the skeleton's Rust types. */
struct key_t _key = {};
struct stacktrace_event _event = {};

static __always_inline __s32 get_stack(void *ctx, __u64 *buf, __u64 flags)
{
	__u32 size = stack_bytes;

	if (size > MAX_STACK_DEPTH * sizeof(__u64))
		size = MAX_STACK_DEPTH * sizeof(__u64);
	return bpf_get_stack(ctx, buf, size, flags);
}

static __always_inline int send_sample(void *ctx, __u32 pid, __u32 tid)
{
	struct stacktrace_event *event;

	event = reserve_or_count(&events, sizeof(*event));
	if (!event)
		return 0;
	event->pid = pid;
	event->tid = tid;
	event->cpu_id = bpf_get_smp_processor_id();
	if (bpf_get_current_comm(event->comm, sizeof(event->comm)))
		event->comm[0] = 0;
	event->kstack_sz = user_stacks_only ? 0 : get_stack(ctx, event->kstack, 0);
	event->ustack_sz = kernel_stacks_only ? 0 : get_stack(ctx, event->ustack, BPF_F_USER_STACK);
	submit_event(&events, event);
	return 0;
}

SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx)
{
	static const __u64 zero;
	struct key_t key = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u64 *valp;

	if (!include_idle && tid == 0)
		return 0;
	if (filter_by_pid && !bpf_map_lookup_elem(&pids, &pid))
		return 0;
	if (filter_by_tid && !bpf_map_lookup_elem(&tids, &tid))
		return 0;

	if (emit_samples)
		return send_sample(ctx, pid, tid);

	key.pid = pid;
	bpf_get_current_comm(&key.name, sizeof(key.name));
	key.kern_stack_id = user_stacks_only ? -1 : bpf_get_stackid(ctx, &stackmap, 0);
	key.user_stack_id = kernel_stacks_only ? -1 :
		bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK);

	valp = bpf_map_lookup_or_try_init(&counts, &key, &zero);
	if (valp)
		__sync_fetch_and_add(valp, 1);
	else
		count_drop();
	return 0;
}
