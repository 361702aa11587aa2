/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lessons 2 and 3: unlink(2) seen at do_unlinkat, three ways.
 *
 *  - fentry/fexit do_unlinkat (lesson 3): the lesson's two programs. fentry
 *    reads the pid, comm and name at entry (its bpf_printk line) and stashes
 *    them per thread; fexit pairs them with the result (its line adds ret).
 *    fexit alone sees the arguments too, but do_unlinkat has putname()'d
 *    the struct filename by then (freed unless audit holds it): reading the
 *    name at fexit reads freed memory;
 *  - kprobe/kretprobe do_unlinkat (lesson 2): the same pairing;
 *  - tracepoints sys_enter/exit_unlinkat and _unlink: for kernels without
 *    kprobes or fentry (unlinkat with AT_REMOVEDIR is rmdir, not
 *    do_unlinkat, so it is left out to match the kernel-function hooks).
 *
 * User space loads exactly one set (probe::select_programs). The tutorial
 * prints with bpf_printk; here every unlink becomes one ring-buffer event. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "unlink.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AT_REMOVEDIR 0x200

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* fentry and kprobe: the name read at entry, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct unlink_event);
} inflight SEC(".maps");

/* tracepoints: the user pointer saved at entry, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} user_names SEC(".maps");

/* Scratch for building an entry without using 300 bytes of stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unlink_event);
} scratch SEC(".maps");

struct unlink_event _unlink_event = {};

static __always_inline bool traced(__u64 id)
{
	return !targ_tgid || targ_tgid == (pid_t)(id >> 32);
}

static __always_inline void emit(const struct unlink_event *src, int ret)
{
	struct unlink_event *e = reserve_or_count(&events, sizeof(*e));

	if (!e)
		return;
	__builtin_memcpy(e, src, sizeof(*e));
	e->ret = ret;
	submit_event(&events, e);
}

/* Entry (fentry, kprobe): pid, comm and the kernel's copy of the name. */
static __always_inline int stash_entry(struct filename *name)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct unlink_event *e;

	if (!traced(id))
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->pid = id >> 32;
	e->tid = tid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(name, name));
	/* A full map loses this call's event: counted like a full ring buffer. */
	if (bpf_map_update_elem(&inflight, &tid, e, BPF_ANY))
		count_drop();
	return 0;
}

/* Exit (fexit, kretprobe): the entry's event with the result. A call whose
 * entry was not seen (it started before the tool) is not reported. */
static __always_inline int emit_stashed(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct unlink_event *e = bpf_map_lookup_elem(&inflight, &tid);

	if (!e)
		return 0;
	emit(e, (int)ret);
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

/* ---- fentry/fexit (lesson 3) ---- */

SEC("fentry/do_unlinkat")
int BPF_PROG(fentry_do_unlinkat, int dfd, struct filename *name)
{
	return stash_entry(name);
}

SEC("fexit/do_unlinkat")
int BPF_PROG(fexit_do_unlinkat, int dfd, struct filename *name, long ret)
{
	return emit_stashed(ret);
}

/* ---- kprobe/kretprobe (lesson 2) ---- */

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(kprobe_do_unlinkat, int dfd, struct filename *name)
{
	return stash_entry(name);
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(kretprobe_do_unlinkat, long ret)
{
	return emit_stashed(ret);
}

/* ---- tracepoints (fallback) ---- */

static __always_inline int tp_enter(const char *path)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 ptr = (__u64)path;

	if (!traced(id))
		return 0;
	bpf_map_update_elem(&user_names, &tid, &ptr, BPF_ANY);
	return 0;
}

static __always_inline int tp_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 *ptr = bpf_map_lookup_elem(&user_names, &tid);
	struct unlink_event *e;

	if (!ptr)
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (e) {
		e->pid = id >> 32;
		e->tid = tid;
		e->ret = (int)ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const void *)*ptr) < 0)
			e->filename[0] = '\0';
		submit_event(&events, e);
	}
	bpf_map_delete_elem(&user_names, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int tp_enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	if (BPF_CORE_READ(ctx, args[2]) & AT_REMOVEDIR)
		return 0;
	return tp_enter((const char *)BPF_CORE_READ(ctx, args[1]));
}

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int tp_exit_unlinkat(struct trace_event_raw_sys_exit *ctx)
{
	return tp_exit(BPF_CORE_READ(ctx, ret));
}

/* unlink(2) exists on x86_64 but not on every architecture. */
SEC("tracepoint/syscalls/sys_enter_unlink")
int tp_enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return tp_enter((const char *)BPF_CORE_READ(ctx, args[0]));
}

SEC("tracepoint/syscalls/sys_exit_unlink")
int tp_exit_unlink(struct trace_event_raw_sys_exit *ctx)
{
	return tp_exit(BPF_CORE_READ(ctx, ret));
}
