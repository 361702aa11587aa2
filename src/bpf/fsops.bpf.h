/* SPDX-License-Identifier: GPL-2.0 */
/* The hooks fsslower and fsdist share: a file operation's start, saved per
 * thread, and its end, handed to the tool's fsops_done().
 *
 * Three mechanisms, as the user space chooses (src/fsops.rs):
 *   - fentry/fexit on the file system's own functions (ext4_file_read_iter,
 *     ext4_file_write_iter, ext4_file_open, ext4_sync_file, ...), as
 *     libbpf-tools; attach targets are set before load;
 *   - kprobe/kretprobe on the same functions, attached by name after load;
 *   - the syscalls tracepoints (read, write, pread64, pwrite64, readv,
 *     writev, open, openat, fsync, fdatasync), where the file comes from the
 *     fd through the task's file table and must be on the file system type
 *     named in targ_fs (its super block's s_type->name).
 *
 * The tool includes this header, then defines fsops_done(). With
 * FSOPS_GETATTR defined first, getattr programs (fentry/kprobe only) too. */
#ifndef __BPFKIT_FSOPS_BPF_H
#define __BPFKIT_FSOPS_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "fsops.h"
#include "drops.bpf.h"
#include "path.bpf.h"

#ifndef LLONG_MAX
#define LLONG_MAX 0x7fffffffffffffffLL
#endif

const volatile pid_t targ_tgid = 0;
/* Syscall programs: the file-system type names a file must be on (nfs
 * also mounts as nfs4). */
const volatile char targ_fs[FS_NAME_LEN] = {};
const volatile char targ_fs_alt[FS_NAME_LEN] = {};

/* An operation in flight, by thread id. */
struct fs_start {
	__u64 ts;
	__s64 start;
	__s64 end;
	struct file *fp;
	__u32 op;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct fs_start);
} starts SEC(".maps");

/* The tool's: one operation finished at `now` with return value `ret`. */
static __always_inline int fsops_done(void *ctx, const struct fs_start *s, __s64 ret, __u64 now);

static __always_inline bool fs_name_is(const char *name, const volatile char *want)
{
	int i;

	for (i = 0; i < FS_NAME_LEN; i++) {
		if (name[i] != want[i])
			return false;
		if (!name[i])
			return true;
	}
	return true;
}

/* Whether `fp` is on the file-system type asked for. */
static __always_inline bool file_on_fs(struct file *fp)
{
	char name[FS_NAME_LEN] = {};
	const char *p = BPF_CORE_READ(fp, f_inode, i_sb, s_type, name);

	if (!p || bpf_probe_read_kernel_str(name, sizeof(name), p) < 0)
		return false;
	return fs_name_is(name, targ_fs) || (targ_fs_alt[0] && fs_name_is(name, targ_fs_alt));
}

static __always_inline int fsops_start(struct file *fp, __s64 start, __s64 end, __u32 op)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct fs_start s = {};

	if (targ_tgid && targ_tgid != (pid_t)(id >> 32))
		return 0;
	s.ts = bpf_ktime_get_ns();
	s.start = start;
	s.end = end;
	s.fp = fp;
	s.op = op;
	/* A full map loses this operation: counted like a full ring buffer. */
	if (bpf_map_update_elem(&starts, &tid, &s, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int fsops_end(void *ctx, __s64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	struct fs_start *sp, s;

	sp = bpf_map_lookup_elem(&starts, &tid);
	if (!sp)
		return 0;
	s = *sp;
	bpf_map_delete_elem(&starts, &tid);
	if (s.op == F_OPEN && !s.fp) {
		/* open(at) syscall: the file is the descriptor it returns. */
		if (ret < 0)
			return 0;
		s.fp = task_file((struct task_struct *)bpf_get_current_task(), (int)ret);
		if (!s.fp || !file_on_fs(s.fp))
			return 0;
	}
	return fsops_done(ctx, &s, ret, now);
}

/* ---- syscalls tracepoints ---- */

/* An fd operation: traced when the fd's file is on the file system. */
static __always_inline int fd_start(int fd, bool at_pos, __s64 pos, __u32 op)
{
	struct file *fp;

	if (targ_tgid && targ_tgid != (pid_t)(bpf_get_current_pid_tgid() >> 32))
		return 0;
	fp = task_file((struct task_struct *)bpf_get_current_task(), fd);
	if (!fp || !file_on_fs(fp))
		return 0;
	if (op == F_FSYNC)
		return fsops_start(fp, 0, LLONG_MAX, op);
	return fsops_start(fp, at_pos ? pos : BPF_CORE_READ(fp, f_pos), 0, op);
}

#define FD_SYSCALL(name, op, at_pos)						\
SEC("tracepoint/syscalls/sys_enter_" #name)					\
int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)			\
{										\
	return fd_start((int)ctx->args[0], at_pos, (__s64)ctx->args[3], op);	\
}										\
SEC("tracepoint/syscalls/sys_exit_" #name)					\
int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)			\
{										\
	return fsops_end(ctx, ctx->ret);					\
}

FD_SYSCALL(read, F_READ, false)
FD_SYSCALL(readv, F_READ, false)
FD_SYSCALL(pread64, F_READ, true)
FD_SYSCALL(write, F_WRITE, false)
FD_SYSCALL(writev, F_WRITE, false)
FD_SYSCALL(pwrite64, F_WRITE, true)
FD_SYSCALL(fsync, F_FSYNC, false)
FD_SYSCALL(fdatasync, F_FSYNC, false)

#define OPEN_SYSCALL(name)							\
SEC("tracepoint/syscalls/sys_enter_" #name)					\
int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)			\
{										\
	return fsops_start(NULL, 0, 0, F_OPEN);					\
}										\
SEC("tracepoint/syscalls/sys_exit_" #name)					\
int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)			\
{										\
	return fsops_end(ctx, ctx->ret);					\
}

OPEN_SYSCALL(open)
OPEN_SYSCALL(openat)

/* ---- fentry/fexit on the file system's functions (targets set by user
 * space; "dummy_*" as libbpf-tools) ---- */

SEC("fentry/dummy_file_read")
int BPF_PROG(file_read_fentry, struct kiocb *iocb)
{
	return fsops_start(iocb->ki_filp, iocb->ki_pos, 0, F_READ);
}

SEC("fexit/dummy_file_read")
int BPF_PROG(file_read_fexit, struct kiocb *iocb, struct iov_iter *to, ssize_t ret)
{
	return fsops_end(ctx, ret);
}

SEC("fentry/dummy_file_write")
int BPF_PROG(file_write_fentry, struct kiocb *iocb)
{
	return fsops_start(iocb->ki_filp, iocb->ki_pos, 0, F_WRITE);
}

SEC("fexit/dummy_file_write")
int BPF_PROG(file_write_fexit, struct kiocb *iocb, struct iov_iter *from, ssize_t ret)
{
	return fsops_end(ctx, ret);
}

SEC("fentry/dummy_file_open")
int BPF_PROG(file_open_fentry, struct inode *inode, struct file *file)
{
	if (!file)
		return 0;
	return fsops_start(file, 0, 0, F_OPEN);
}

SEC("fexit/dummy_file_open")
int BPF_PROG(file_open_fexit)
{
	return fsops_end(ctx, 0);
}

SEC("fentry/dummy_file_sync")
int BPF_PROG(file_sync_fentry, struct file *file, loff_t start, loff_t end)
{
	return fsops_start(file, start, end, F_FSYNC);
}

SEC("fexit/dummy_file_sync")
int BPF_PROG(file_sync_fexit)
{
	return fsops_end(ctx, 0);
}

/* ---- kprobe/kretprobe on the same functions (attached by name) ---- */

SEC("kprobe")
int BPF_KPROBE(file_read_entry, struct kiocb *iocb)
{
	return fsops_start(BPF_CORE_READ(iocb, ki_filp), BPF_CORE_READ(iocb, ki_pos), 0, F_READ);
}

SEC("kretprobe")
int BPF_KRETPROBE(file_read_exit, ssize_t ret)
{
	return fsops_end(ctx, ret);
}

SEC("kprobe")
int BPF_KPROBE(file_write_entry, struct kiocb *iocb)
{
	return fsops_start(BPF_CORE_READ(iocb, ki_filp), BPF_CORE_READ(iocb, ki_pos), 0, F_WRITE);
}

SEC("kretprobe")
int BPF_KRETPROBE(file_write_exit, ssize_t ret)
{
	return fsops_end(ctx, ret);
}

SEC("kprobe")
int BPF_KPROBE(file_open_entry, struct inode *inode, struct file *file)
{
	if (!file)
		return 0;
	return fsops_start(file, 0, 0, F_OPEN);
}

SEC("kretprobe")
int BPF_KRETPROBE(file_open_exit)
{
	return fsops_end(ctx, 0);
}

SEC("kprobe")
int BPF_KPROBE(file_sync_entry, struct file *file, loff_t start, loff_t end)
{
	return fsops_start(file, start, end, F_FSYNC);
}

SEC("kretprobe")
int BPF_KRETPROBE(file_sync_exit)
{
	return fsops_end(ctx, 0);
}

#ifdef FSOPS_GETATTR
SEC("fentry/dummy_getattr")
int BPF_PROG(getattr_fentry)
{
	return fsops_start(NULL, 0, 0, F_GETATTR);
}

SEC("fexit/dummy_getattr")
int BPF_PROG(getattr_fexit)
{
	return fsops_end(ctx, 0);
}

SEC("kprobe")
int BPF_KPROBE(getattr_entry)
{
	return fsops_start(NULL, 0, 0, F_GETATTR);
}

SEC("kretprobe")
int BPF_KRETPROBE(getattr_exit)
{
	return fsops_end(ctx, 0);
}
#endif

#endif /* __BPFKIT_FSOPS_BPF_H */
