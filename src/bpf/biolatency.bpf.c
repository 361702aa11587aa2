/* SPDX-License-Identifier: GPL-2.0 */
/* biolatency — block I/O latency as log2 histograms (libbpf-tools'
 * biolatency.bpf.c).
 *
 * A request's latency runs from block_rq_issue (sent to the device) or,
 * with -Q, from block_rq_insert (queued in the I/O scheduler) to
 * block_rq_complete. The hooks come twice, one set loaded
 * (probe::apply_raw_tp_style): tp_btf/ where the kernel takes it, raw_tp/
 * elsewhere.
 *
 * -c is judged where the request starts (insert/issue, usually the
 * submitting task); completion runs in interrupt or another task's context,
 * where libbpf-tools' second check would drop the request. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "biolatency.h"
#include "bits.bpf.h"
#include "maps.bpf.h"
#include "cgroup.bpf.h"
#include "blk.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 10240

const volatile bool targ_per_disk = false;
const volatile bool targ_per_flag = false;
const volatile bool targ_queued = false;
const volatile bool targ_ms = false;
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
/* bpfkit-exporter: also keep the sum of the latencies (a Prometheus _sum). */
const volatile bool targ_sum = false;

/* request -> when it started (ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* For the skeleton's Rust types. */
struct hist _hist = {};
struct hist_key _hist_key = {};

static struct hist zero;

static __always_inline int trace_rq_start(void *rq, bool issue)
{
	u64 key = (u64)rq;
	u64 ts;

	if (!cgroup_allowed())
		return 0;
	/* With -Q the request started at insert, unless it never waited in a
	 * scheduler (no insert then). */
	if (issue && targ_queued && rq_has_elevator(rq))
		return 0;
	if (filter_dev && rq_dev(rq) != targ_dev)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &key, &ts, BPF_ANY);
	return 0;
}

static __always_inline int trace_rq_complete(void *rq)
{
	u64 key = (u64)rq;
	struct hist_key hkey = {};
	struct hist *histp;
	u64 *tsp, slot;
	s64 delta;

	tsp = bpf_map_lookup_elem(&start, &key);
	if (!tsp)
		return 0;
	delta = (s64)(bpf_ktime_get_ns() - *tsp);
	if (delta < 0)
		goto cleanup;
	if (targ_per_disk)
		hkey.dev = rq_dev(rq);
	if (targ_per_flag)
		hkey.cmd_flags = BPF_CORE_READ((struct request *)rq, cmd_flags);
	histp = bpf_map_lookup_or_try_init(&hists, &hkey, &zero);
	if (!histp)
		goto cleanup;
	if (targ_sum)
		__sync_fetch_and_add(&histp->sum_ns, delta);
	if (targ_ms)
		delta /= 1000000U;
	else
		delta /= 1000U;
	slot = log2_slot(delta, MAX_SLOTS);
	__sync_fetch_and_add(&histp->slots[slot], 1);
cleanup:
	bpf_map_delete_elem(&start, &key);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int block_rq_insert_btf(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), false);
}

SEC("tp_btf/block_rq_issue")
int block_rq_issue_btf(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), true);
}

SEC("tp_btf/block_rq_complete")
int block_rq_complete_btf(u64 *ctx)
{
	return trace_rq_complete((void *)ctx[0]);
}

SEC("raw_tp/block_rq_insert")
int block_rq_insert_raw(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), false);
}

SEC("raw_tp/block_rq_issue")
int block_rq_issue_raw(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), true);
}

SEC("raw_tp/block_rq_complete")
int block_rq_complete_raw(u64 *ctx)
{
	return trace_rq_complete((void *)ctx[0]);
}
