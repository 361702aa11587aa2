/* SPDX-License-Identifier: GPL-2.0 */
/* opensnoop — lesson 4 and seed 002: the open family of syscalls.
 *
 * The tutorial hooks only sys_enter_open/openat and prints the pid with
 * bpf_printk (and its filter compares the *thread* id with a "pid" target).
 * Here entry stashes path pointer and flags per thread, exit pairs them with
 * the result, and the event goes to user space through a ring buffer.
 * Filters: process (tgid), thread, uid, failed-only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "opensnoop.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_tgid = 0;
const volatile pid_t targ_pid = 0;
const volatile uid_t targ_uid = (uid_t)-1;
const volatile bool targ_failed = false;

struct open_args {
	const char *path;
	__u64 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct open_event _open_event = {};

static __always_inline bool trace_allowed(__u64 id)
{
	if (targ_tgid && targ_tgid != (pid_t)(id >> 32))
		return false;
	if (targ_pid && targ_pid != (pid_t)id)
		return false;
	if (targ_uid != (uid_t)-1 && targ_uid != (uid_t)bpf_get_current_uid_gid())
		return false;
	return true;
}

static __always_inline int trace_enter(const char *path, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args args = { .path = path, .flags = flags };

	if (!trace_allowed(id))
		return 0;
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int trace_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args *args;
	struct open_event *e;
	int ret;

	args = bpf_map_lookup_elem(&start, &tid);
	if (!args)
		return 0;
	ret = (int)BPF_CORE_READ(ctx, ret);
	if (targ_failed && ret >= 0)
		goto cleanup;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto cleanup;
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = args->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), args->path) < 0)
		e->path[0] = '\0';
	submit_event(&events, e);
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

/* open(2) exists on x86_64 but not on arm64; user space turns it off there. */
SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)BPF_CORE_READ(ctx, args[0]), BPF_CORE_READ(ctx, args[1]));
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)BPF_CORE_READ(ctx, args[1]), BPF_CORE_READ(ctx, args[2]));
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}

/* openat2(2) (5.6+) takes its flags in a user struct open_how. */
SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)BPF_CORE_READ(ctx, args[2]));
	return trace_enter((const char *)BPF_CORE_READ(ctx, args[1]), how.flags);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}
