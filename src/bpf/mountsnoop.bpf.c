/* SPDX-License-Identifier: GPL-2.0 */
/* mountsnoop — mount(2) and umount2(2) calls with their arguments and
 * result (libbpf-tools' mountsnoop, as in bcc 0.26).
 *
 * syscalls:sys_enter_{mount,umount} save the argument pointers per thread
 * in a (preallocated) hash; sys_exit_* read the strings from the caller's
 * memory, add the result, the time spent and the caller's mount namespace,
 * and send one event through the ring buffer (drops counted, drops.bpf.h).
 * A full hash (10240 calls in flight) loses the call: counted too. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "mountsnoop.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 2 * 1024 * 1024);
} events SEC(".maps");

struct mount_args {
	__u64 ts;
	__u64 flags;
	const char *src;
	const char *dest;
	const char *fs;
	const char *data;
	__u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct mount_args);
} args SEC(".maps");

struct mount_event _mount_event = {};

static __always_inline int probe_entry(const char *src, const char *dest, const char *fs,
				       __u64 flags, const char *data, __u32 op)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct mount_args a = {};

	if (targ_tgid && targ_tgid != (pid_t)(id >> 32))
		return 0;
	a.ts = bpf_ktime_get_ns();
	a.flags = flags;
	a.src = src;
	a.dest = dest;
	a.fs = fs;
	a.data = data;
	a.op = op;
	if (bpf_map_update_elem(&args, &tid, &a, BPF_ANY))
		count_drop();
	return 0;
}

/* A user string into dst; "" (and no bit in present) for NULL. */
static __always_inline void read_str(char *dst, __u32 size, const char *src,
				     __u32 *present, __u32 bit)
{
	dst[0] = '\0';
	if (!src)
		return;
	*present |= bit;
	if (bpf_probe_read_user_str(dst, size, src) < 0)
		dst[0] = '\0';
}

static __always_inline int probe_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct task_struct *task;
	struct mount_event *e;
	struct mount_args *a;

	a = bpf_map_lookup_elem(&args, &tid);
	if (!a)
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto out;
	task = (struct task_struct *)bpf_get_current_task();
	e->delta_ns = bpf_ktime_get_ns() - a->ts;
	e->flags = a->flags;
	e->pid = id >> 32;
	e->tid = tid;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->ret = (__s32)ret;
	e->op = a->op;
	e->present = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	read_str(e->src, sizeof(e->src), a->src, &e->present, 1);
	read_str(e->fs, sizeof(e->fs), a->fs, &e->present, 2);
	read_str(e->data, sizeof(e->data), a->data, &e->present, 4);
	/* The target of both calls is required: "" only if unreadable. */
	read_str(e->dest, sizeof(e->dest), a->dest, &e->present, 0);
	submit_event(&events, e);
out:
	bpf_map_delete_elem(&args, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((const char *)ctx->args[0], (const char *)ctx->args[1],
			   (const char *)ctx->args[2], (__u64)ctx->args[3],
			   (const char *)ctx->args[4], MOUNT_OP);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry(NULL, (const char *)ctx->args[0], NULL,
			   (__u64)(__u32)ctx->args[1], NULL,
			   UMOUNT_OP);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int umount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx->ret);
}
