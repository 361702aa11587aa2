/* SPDX-License-Identifier: GPL-2.0 */
/* execsnoop — lesson 7: every exec, with its arguments, through a perf buffer.
 *
 * The tutorial sends one fixed event from sys_enter_execve (so a failed exec
 * looks like a successful one and the comm is still the caller's), and its
 * second version's exit handler reports the thread id as the pid and sends
 * uninitialized stack fields. Here, like libbpf-tools execsnoop, the enter
 * tracepoint stashes pid/ppid/uid and the argument strings per thread, and
 * the exit tracepoint adds the return value and the (new) comm and emits only
 * the used part of the record through the perf buffer. Filters in the
 * kernel: -u uid, -x failed execs, -c cgroup (cgroup.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "execsnoop.h"
#include "drops.bpf.h"
#include "cgroup.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool ignore_failed = true;
const volatile uid_t targ_uid = (uid_t)-1;
const volatile int max_args = DEFAULT_MAXARGS;

/* The whole record as it sits in the map; the perf buffer gets its head plus
 * hdr.args_size bytes of args. */
struct exec_record {
	struct exec_event hdr;
	char args[FULL_MAX_ARGS_ARR];
};

_Static_assert(__builtin_offsetof(struct exec_record, args) == sizeof(struct exec_event),
	       "user space expects the args right after the header");

/* Scratch space: a record is too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_record);
} heap SEC(".maps");

/* Execs in flight (between sys_enter and sys_exit), by thread id.
 * Preallocated: before Linux 6.1 a tracing program with a run-time
 * allocated hash map makes the verifier WARN and taint the kernel. 1024
 * records of 7.7 KiB pin 7.7 MiB (libbpf-tools' 10240 pin 79 MiB); an exec
 * that finds the map full is counted as lost. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct exec_record);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct exec_event _exec_event = {};

static __always_inline int trace_enter(const char *filename, const char *const *argv)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	__u32 zero = 0, size;
	struct exec_record *r;
	struct task_struct *task;
	const char *argp = NULL;
	long n;
	int i;

	if (targ_uid != (uid_t)-1 && targ_uid != uid)
		return 0;
	/* -c: the exec'ing task's cgroup (the exit hook only sees what this
	 * one stashed). */
	if (!cgroup_allowed())
		return 0;
	r = bpf_map_lookup_elem(&heap, &zero);
	if (!r)
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	r->hdr.pid = id >> 32;
	r->hdr.ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->hdr.uid = uid;
	r->hdr.retval = 0;
	r->hdr.args_count = 0;
	r->hdr.args_size = 0;
	r->hdr.args_truncated = 0;
	__builtin_memset(r->hdr.comm, 0, sizeof(r->hdr.comm));

	/* First the path as given to exec (like libbpf-tools); execveat() with
	 * AT_EMPTY_PATH (fexecve) has none, so fall back to argv[0]. */
	n = bpf_probe_read_user_str(r->args, ARGSIZE, filename);
	if (n <= 1) {
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[0]) || !argp)
			n = -1;
		else
			n = bpf_probe_read_user_str(r->args, ARGSIZE, argp);
		if (n < 1) {
			r->args[0] = '\0';
			n = 1;
		}
	}
	r->hdr.args_size = n;
	r->hdr.args_count = 1;

	for (i = 1; i < TOTAL_MAX_ARGS && i < max_args; i++) {
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
			goto stash;
		size = r->hdr.args_size;
		if (size > LAST_ARG) {
			r->hdr.args_truncated = 1;
			goto stash;
		}
		n = bpf_probe_read_user_str(&r->args[size], ARGSIZE, argp);
		if (n < 0) {
			r->hdr.args_truncated = 1;
			goto stash;
		}
		/* Before 6.x (fixed upstream later), an empty string reads as 0
		 * bytes rather than 1 (its NUL): keep "" as an argument. */
		if (n == 0) {
			r->args[size] = '\0';
			n = 1;
		}
		r->hdr.args_count++;
		r->hdr.args_size = size + n;
	}
	/* All max_args read: is there one more? */
	if (!bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) && argp)
		r->hdr.args_truncated = 1;
stash:
	if (bpf_map_update_elem(&execs, &tid, r, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int trace_exit(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_record *r;
	__u32 size;

	r = bpf_map_lookup_elem(&execs, &tid);
	if (!r)
		return 0;
	if (ignore_failed && ret < 0)
		goto cleanup;
	r->hdr.retval = ret;
	/* After a successful exec this is already the new program's name. */
	bpf_get_current_comm(r->hdr.comm, sizeof(r->hdr.comm));
	size = r->hdr.args_size;
	if (size <= FULL_MAX_ARGS_ARR)
		output_or_count(ctx, &events, r, sizeof(r->hdr) + size);
cleanup:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)BPF_CORE_READ(ctx, args[0]),
			   (const char *const *)BPF_CORE_READ(ctx, args[1]));
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx, BPF_CORE_READ(ctx, ret));
}

/* execveat(dirfd, path, argv, envp, flags): not on every kernel; user space
 * turns these two off when the tracepoint is missing. */
SEC("tracepoint/syscalls/sys_enter_execveat")
int enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)BPF_CORE_READ(ctx, args[1]),
			   (const char *const *)BPF_CORE_READ(ctx, args[2]));
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx, BPF_CORE_READ(ctx, ret));
}

/* An exec from a thread other than the leader takes over the leader's id
 * (de_thread), so the exit tracepoint runs under a different thread id than
 * the enter one: move the stashed record to the new id. */
SEC("tracepoint/sched/sched_process_exec")
int sched_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 old_tid = BPF_CORE_READ(ctx, old_pid);
	__u32 new_tid = BPF_CORE_READ(ctx, pid);
	struct exec_record *r;

	if (old_tid == new_tid)
		return 0;
	r = bpf_map_lookup_elem(&execs, &old_tid);
	if (!r)
		return 0;
	bpf_map_update_elem(&execs, &new_tid, r, BPF_ANY);
	bpf_map_delete_elem(&execs, &old_tid);
	return 0;
}
