/* SPDX-License-Identifier: GPL-2.0 */
/* fsdist — latency histograms of file reads, writes, opens, fsyncs and
 * getattrs on one file-system type (libbpf-tools' fsdist). The hooks are
 * fsops.bpf.h's; this file counts each operation in its histogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "fsdist.h"
#define FSOPS_GETATTR
#include "fsops.bpf.h"
#include "bits.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool in_ms = false;

struct fs_hist hists[F_MAX_OP] = {};

static __always_inline int fsops_done(void *ctx, const struct fs_start *s, __s64 ret, __u64 now)
{
	__u64 delta_ns = now - s->ts, delta, slot;
	__u32 op = s->op;

	if (op >= F_MAX_OP || (__s64)delta_ns < 0)
		return 0;
	delta = in_ms ? delta_ns / 1000000 : delta_ns / 1000;
	slot = log2l(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&hists[op].slots[slot], 1);
	__sync_fetch_and_add(&hists[op].sum_ns, delta_ns);
	return 0;
}
