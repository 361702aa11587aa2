/* SPDX-License-Identifier: GPL-2.0 */
/* statsnoop — the stat family of syscalls (libbpf-tools' statsnoop).
 *
 * An enter+exit tracepoint pair per syscall, as in libbpf-tools: the enter
 * program saves the path pointer and the fd or dirfd per thread, the exit
 * program sends the result. Unlike libbpf-tools, which reads
 * /proc/PID/cwd or /proc/PID/fd/N when it prints (wrong or empty once the
 * process has moved on, exited or closed the fd), the directory a relative
 * path starts from, and fstat's file, are read from the task's dentries at
 * the syscall's exit (path.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "statsnoop.h"
#include "drops.bpf.h"
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_tgid = 0;
const volatile bool targ_failed = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

/* Arguments saved at syscall entry, by thread id. */
struct stat_args {
	const char *path;
	int dirfd;
	__u32 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct stat_args);
} starts SEC(".maps");

struct stat_event _stat_event = {};

static __always_inline int save_args(__u32 syscall, const char *path, int dirfd)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct stat_args args = { .path = path, .dirfd = dirfd, .syscall = syscall };

	if (targ_tgid && targ_tgid != (pid_t)(id >> 32))
		return 0;
	/* A full map loses this call's event: counted like a full ring buffer. */
	if (bpf_map_update_elem(&starts, &tid, &args, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int emit_saved(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct stat_args *args;
	struct stat_event *e;
	int ret = (int)ctx->ret;

	args = bpf_map_lookup_elem(&starts, &tid);
	if (!args)
		return 0;
	if (targ_failed && ret >= 0)
		goto out;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto out;
	e->pid = id >> 32;
	e->tid = tid;
	e->ret = ret;
	e->syscall = args->syscall;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path[0] = '\0';
	if (args->path && bpf_probe_read_user_str(e->path, sizeof(e->path), args->path) < 0)
		e->path[0] = '\0';
	if (e->path[0] == '/') {
		e->dir.depth = 0;
		e->dir.truncated = 0;
		e->dir.failed = 0;
	} else {
		fill_start_dir(&e->dir, args->dirfd);
	}
	submit_event(&events, e);
out:
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_statfs")
int enter_statfs(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(STAT_STATFS, (const char *)ctx->args[0], AT_FDCWD);
}

SEC("tracepoint/syscalls/sys_exit_statfs")
int exit_statfs(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

SEC("tracepoint/syscalls/sys_enter_newstat")
int enter_newstat(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(STAT_NEWSTAT, (const char *)ctx->args[0], AT_FDCWD);
}

SEC("tracepoint/syscalls/sys_exit_newstat")
int exit_newstat(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

SEC("tracepoint/syscalls/sys_enter_statx")
int enter_statx(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(STAT_STATX, (const char *)ctx->args[1], (int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_statx")
int exit_statx(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

/* fstat(fd): no path; the fd's file is where the (empty) path starts. */
SEC("tracepoint/syscalls/sys_enter_newfstat")
int enter_newfstat(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(STAT_NEWFSTAT, NULL, (int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_newfstat")
int exit_newfstat(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

SEC("tracepoint/syscalls/sys_enter_newfstatat")
int enter_newfstatat(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(STAT_NEWFSTATAT, (const char *)ctx->args[1], (int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_newfstatat")
int exit_newfstatat(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

SEC("tracepoint/syscalls/sys_enter_newlstat")
int enter_newlstat(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(STAT_NEWLSTAT, (const char *)ctx->args[0], AT_FDCWD);
}

SEC("tracepoint/syscalls/sys_exit_newlstat")
int exit_newlstat(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}
