/* SPDX-License-Identifier: GPL-2.0 */
/* opensnoop — lesson 4 and seed 002: the open family of syscalls.
 *
 * The tutorial hooks only sys_enter_open/openat and prints the pid with
 * bpf_printk (and its filter compares the *thread* id with a "pid" target).
 * Here one program per syscall runs at *exit* only: the arguments are still
 * in the task's saved user registers (bpf_task_pt_regs), so there is no
 * enter program and no per-thread hash map — half the tracepoint hits and
 * no map traffic per open, which is most of what tracing costs the traced
 * workload. The event goes to user space through a ring buffer.
 * Filters: process (tgid), thread, uid, failed-only, success-only (both
 * result filters run before the ring-buffer reserve, so a dropped call costs
 * no event).
 * With -c the event also carries two return addresses of the opener's user
 * stack (bpf_get_stack with BPF_F_USER_STACK, frame-pointer walk), after the
 * innermost frame, which is the libc wrapper: libbpf-tools' callers.
 * Before Linux 5.15 (no bpf_task_pt_regs) user space loads the *_paired
 * programs instead: sys_enter_* saves the path pointer and flags per thread
 * (as libbpf-tools' opensnoop does) and sys_exit_* picks them up. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "opensnoop.h"
#include "drops.bpf.h"
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_tgid = 0;
const volatile pid_t targ_pid = 0;
const volatile uid_t targ_uid = (uid_t)-1;
const volatile bool targ_failed = false;
const volatile bool targ_success = false;
/* -F: send the directory a relative path starts from (struct open_event_full). */
const volatile bool full_path = false;
/* -c: keep the opener's callers from its user stack (libbpf-tools' -c). */
const volatile bool callers = false;
/* bpfkit-exporter: count opens by result in `results` instead of sending
 * events (no ring-buffer traffic per open). */
const volatile bool targ_count_only = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

/* Arguments saved at syscall entry, by thread id (the *_paired programs). */
struct open_args {
	const char *path;
	__u64 flags;
	int dirfd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} starts SEC(".maps");

struct open_event _open_event = {};
struct open_event_full _open_event_full = {};

/* With targ_count_only: result (0 for success, else -errno) -> opens. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __s32);
	__type(value, __u64);
} results SEC(".maps");

static __always_inline void count_result(int ret)
{
	__s32 key = ret < 0 ? ret : 0;
	__u64 zero = 0, *n;

	n = bpf_map_lookup_elem(&results, &key);
	if (!n) {
		/* Another CPU may insert it first: then the lookup finds theirs. */
		bpf_map_update_elem(&results, &key, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&results, &key);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count_drop();
}

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

/* The syscall's user registers, as saved on entry (unchanged at exit but for
 * the return value). */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* -c: frames 1.. of the user stack; frame 0 is where the task entered the
 * kernel, the libc wrapper of the syscall. A stack that ends early leaves
 * zeros. */
static __always_inline void fill_callers(void *ctx, struct open_event *e)
{
	__u64 stack[OPEN_CALLERS + 1] = {};
	int i;

	if (!callers) {
		for (i = 0; i < OPEN_CALLERS; i++)
			e->callers[i] = 0;
		return;
	}
	bpf_get_stack(ctx, stack, sizeof(stack), BPF_F_USER_STACK);
	for (i = 0; i < OPEN_CALLERS; i++)
		e->callers[i] = stack[i + 1];
}

/* Reserves and fills everything but the flags; NULL when filtered or lost. */
static __always_inline struct open_event *open_event(struct trace_event_raw_sys_exit *ctx,
						     const char *path, int dirfd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct open_event_full *full = NULL;
	struct open_event *e;
	int ret;

	if (!trace_allowed(id))
		return NULL;
	ret = (int)ctx->ret;
	if (targ_failed && ret >= 0)
		return NULL;
	if (targ_success && ret < 0)
		return NULL;
	if (targ_count_only) {
		count_result(ret);
		return NULL;
	}
	/* One reservation, null-checked as itself: a second pointer derived
	 * from it (full ? &full->e : NULL) lost the check on 6.1's verifier
	 * ("Unreleased reference"). full_path is read-only data, so the size is
	 * a constant for the verifier. */
	e = reserve_or_count(&events, full_path ? sizeof(struct open_event_full) : sizeof(*e));
	if (!e)
		return NULL;
	if (full_path)
		full = (struct open_event_full *)e;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	fill_callers(ctx, e);
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = '\0';
	if (full) {
		if (e->path[0] == '/') {
			full->dir.depth = 0;
			full->dir.truncated = 0;
			full->dir.failed = 0;
		} else {
			fill_start_dir(&full->dir, dirfd);
		}
	}
	return e;
}

/* open(2) exists on x86_64 but not on arm64; user space turns it off there. */
SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct open_event *e;

	e = open_event(ctx, (const char *)PT_REGS_PARM1_SYSCALL(regs), AT_FDCWD);
	if (!e)
		return 0;
	e->flags = PT_REGS_PARM2_SYSCALL(regs);
	submit_event(&events, e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct open_event *e;

	e = open_event(ctx, (const char *)PT_REGS_PARM2_SYSCALL(regs),
		       (int)PT_REGS_PARM1_SYSCALL(regs));
	if (!e)
		return 0;
	e->flags = PT_REGS_PARM3_SYSCALL(regs);
	submit_event(&events, e);
	return 0;
}

/* openat2(2) (5.6+) takes its flags in a user struct open_how. */
SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct open_how *how;
	struct open_event *e;

	e = open_event(ctx, (const char *)PT_REGS_PARM2_SYSCALL(regs),
		       (int)PT_REGS_PARM1_SYSCALL(regs));
	if (!e)
		return 0;
	how = (struct open_how *)PT_REGS_PARM3_SYSCALL(regs);
	if (bpf_probe_read_user(&e->flags, sizeof(e->flags), &how->flags) < 0)
		e->flags = 0;
	submit_event(&events, e);
	return 0;
}

/* ---- Before 5.15: an enter+exit pair per syscall, keyed by thread id. */

static __always_inline int save_args(const char *path, __u64 flags, int dirfd)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args args = { .path = path, .flags = flags, .dirfd = dirfd };

	if (!trace_allowed(id))
		return 0;
	/* A full map loses this call's event: counted like a full ring buffer. */
	if (bpf_map_update_elem(&starts, &tid, &args, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int emit_saved(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args *args;
	struct open_event *e;

	args = bpf_map_lookup_elem(&starts, &tid);
	if (!args)
		return 0;
	e = open_event(ctx, args->path, args->dirfd);
	if (e) {
		e->flags = args->flags;
		submit_event(&events, e);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open_paired(struct trace_event_raw_sys_enter *ctx)
{
	return save_args((const char *)ctx->args[0], ctx->args[1], AT_FDCWD);
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open_paired(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat_paired(struct trace_event_raw_sys_enter *ctx)
{
	return save_args((const char *)ctx->args[1], ctx->args[2], (int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat_paired(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2_paired(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how *how = (struct open_how *)ctx->args[2];
	__u64 flags = 0;

	bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
	return save_args((const char *)ctx->args[1], flags, (int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2_paired(struct trace_event_raw_sys_exit *ctx)
{
	return emit_saved(ctx);
}
