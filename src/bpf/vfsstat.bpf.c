/* SPDX-License-Identifier: GPL-2.0 */
/* vfsstat — counts of some VFS calls (libbpf-tools' vfsstat).
 *
 * Three sets of programs, one loaded (probe::select_programs):
 *  - fentry on vfs_read, vfs_write, vfs_fsync, vfs_open, vfs_create,
 *    vfs_unlink, vfs_mkdir, vfs_rmdir (as libbpf-tools);
 *  - kprobes on the same functions (libbpf-tools' fallback);
 *  - syscall tracepoints, where neither works: these count syscalls, not
 *    VFS calls (read, readv, pread64... at their entry; mknod only for a
 *    regular file, which is what reaches vfs_create; unlinkat by its
 *    AT_REMOVEDIR flag as unlink or rmdir).
 *
 * Counts are per-CPU and never reset: user space reads the totals and
 * prints the difference from its last read (no count is lost between the
 * read and a reset, as with libbpf-tools' exchange of a global array). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "vfsstat.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_REMOVEDIR 0x200
#define S_IFMT 00170000
#define S_IFREG 0100000

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, S_MAXSTAT);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline int inc_stats(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(fentry_vfs_read)
{
	return inc_stats(S_READ);
}

SEC("fentry/vfs_write")
int BPF_PROG(fentry_vfs_write)
{
	return inc_stats(S_WRITE);
}

SEC("fentry/vfs_fsync")
int BPF_PROG(fentry_vfs_fsync)
{
	return inc_stats(S_FSYNC);
}

SEC("fentry/vfs_open")
int BPF_PROG(fentry_vfs_open)
{
	return inc_stats(S_OPEN);
}

SEC("fentry/vfs_create")
int BPF_PROG(fentry_vfs_create)
{
	return inc_stats(S_CREATE);
}

SEC("fentry/vfs_unlink")
int BPF_PROG(fentry_vfs_unlink)
{
	return inc_stats(S_UNLINK);
}

SEC("fentry/vfs_mkdir")
int BPF_PROG(fentry_vfs_mkdir)
{
	return inc_stats(S_MKDIR);
}

SEC("fentry/vfs_rmdir")
int BPF_PROG(fentry_vfs_rmdir)
{
	return inc_stats(S_RMDIR);
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(kprobe_vfs_read)
{
	return inc_stats(S_READ);
}

SEC("kprobe/vfs_write")
int BPF_KPROBE(kprobe_vfs_write)
{
	return inc_stats(S_WRITE);
}

SEC("kprobe/vfs_fsync")
int BPF_KPROBE(kprobe_vfs_fsync)
{
	return inc_stats(S_FSYNC);
}

SEC("kprobe/vfs_open")
int BPF_KPROBE(kprobe_vfs_open)
{
	return inc_stats(S_OPEN);
}

SEC("kprobe/vfs_create")
int BPF_KPROBE(kprobe_vfs_create)
{
	return inc_stats(S_CREATE);
}

SEC("kprobe/vfs_unlink")
int BPF_KPROBE(kprobe_vfs_unlink)
{
	return inc_stats(S_UNLINK);
}

SEC("kprobe/vfs_mkdir")
int BPF_KPROBE(kprobe_vfs_mkdir)
{
	return inc_stats(S_MKDIR);
}

SEC("kprobe/vfs_rmdir")
int BPF_KPROBE(kprobe_vfs_rmdir)
{
	return inc_stats(S_RMDIR);
}

/* Syscall tracepoints: one program per syscall, at its entry. */

SEC("tracepoint/syscalls/sys_enter_read")
int tp_read(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_READ);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int tp_readv(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_READ);
}

SEC("tracepoint/syscalls/sys_enter_pread64")
int tp_pread64(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_READ);
}

SEC("tracepoint/syscalls/sys_enter_preadv")
int tp_preadv(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_READ);
}

SEC("tracepoint/syscalls/sys_enter_preadv2")
int tp_preadv2(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_READ);
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_write(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int tp_writev(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_pwrite64")
int tp_pwrite64(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_pwritev")
int tp_pwritev(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_pwritev2")
int tp_pwritev2(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_fsync")
int tp_fsync(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_fdatasync")
int tp_fdatasync(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_open")
int tp_open(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tp_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int tp_creat(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_open_by_handle_at")
int tp_open_by_handle_at(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int tp_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_UNLINK);
}

SEC("tracepoint/syscalls/sys_enter_mkdir")
int tp_mkdir(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_MKDIR);
}

SEC("tracepoint/syscalls/sys_enter_mkdirat")
int tp_mkdirat(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_MKDIR);
}

SEC("tracepoint/syscalls/sys_enter_rmdir")
int tp_rmdir(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(S_RMDIR);
}

/* mknod reaches vfs_create only for a regular file (mode 0 is one). */
static __always_inline int count_mknod(__u64 mode)
{
	__u64 type = mode & S_IFMT;

	if (type == 0 || type == S_IFREG)
		return inc_stats(S_CREATE);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mknod")
int tp_mknod(struct trace_event_raw_sys_enter *ctx)
{
	return count_mknod(ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_mknodat")
int tp_mknodat(struct trace_event_raw_sys_enter *ctx)
{
	return count_mknod(ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int tp_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return inc_stats(ctx->args[2] & AT_REMOVEDIR ? S_RMDIR : S_UNLINK);
}
