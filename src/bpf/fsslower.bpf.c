/* SPDX-License-Identifier: GPL-2.0 */
/* fsslower — file reads, writes, opens and fsyncs slower than a threshold
 * on one file-system type (libbpf-tools' fsslower). The hooks are
 * fsops.bpf.h's; this file sends the slow ones. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "fsslower.h"
#include "fsops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_lat_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct fs_event _fs_event = {};

static __always_inline int fsops_done(void *ctx, const struct fs_start *s, __s64 ret, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 delta_ns = now - s->ts;
	struct file *fp = s->fp;
	struct dentry *dentry;
	struct fs_event *e;

	/* As libbpf-tools: strictly slower than the threshold (-m 0: all). */
	if (delta_ns <= min_lat_ns && min_lat_ns)
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	e->delta_us = delta_ns / 1000;
	e->end_ns = now;
	e->offset = s->start;
	if (s->op == F_FSYNC)
		e->size = s->end - s->start;
	else if (s->op == F_OPEN)
		e->size = 0;
	else
		e->size = ret;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->op = s->op;
	e->pad = 0;
	dentry = BPF_CORE_READ(fp, f_path.dentry);
	if (bpf_probe_read_kernel_str(e->file, sizeof(e->file), BPF_CORE_READ(dentry, d_name.name)) < 0)
		e->file[0] = '\0';
	bpf_get_current_comm(e->task, sizeof(e->task));
	submit_event(&events, e);
	return 0;
}
