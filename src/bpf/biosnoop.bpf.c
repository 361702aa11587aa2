/* SPDX-License-Identifier: GPL-2.0 */
/* biosnoop — one event per block I/O request (libbpf-tools'
 * biosnoop.bpf.c): who issued it, the disk, operation, sector, size and
 * latency.
 *
 * The issuer is the task current when the request is accounted as started,
 * blk_account_io_start(), hooked by one of (probe::choose, one loaded):
 *   fentry/blk_account_io_start, kprobe/blk_account_io_start, or
 *   tp_btf (raw_tp) block_io_start, the tracepoint Linux 6.5 put there.
 * Where the kernel inlined the function and lacks the tracepoint (Debian's
 * 6.1), there is no right answer and the tool refuses to start.
 *
 * The request's timeline comes from block_rq_insert (-Q), block_rq_issue
 * and block_rq_complete as tp_btf, or raw_tp where the kernel lacks tp_btf
 * (probe::apply_raw_tp_style).
 *
 * -c is judged at the issuer (completion runs in interrupt or another
 * task's context): only requests a task in the cgroup started are shown. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "biosnoop.h"
#include "drops.bpf.h"
#include "cgroup.bpf.h"
#include "blk.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 10240

const volatile bool targ_queued = false;
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
const volatile __u64 min_ns = 0;

struct piddata {
	char comm[TASK_COMM_LEN];
	u32 pid;
};

/* request -> its issuer */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, struct piddata);
} infobyreq SEC(".maps");

struct stage {
	u64 insert;
	u64 issue;
	u32 dev;
};

/* request -> when it was inserted and issued */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, struct stage);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* For the skeleton's Rust type. */
struct bio_event _bio_event = {};

static __always_inline int trace_pid(void *rq)
{
	struct piddata piddata = {};
	u64 key = (u64)rq;

	if (!cgroup_allowed())
		return 0;
	piddata.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&piddata.comm, sizeof(piddata.comm));
	bpf_map_update_elem(&infobyreq, &key, &piddata, BPF_ANY);
	return 0;
}

SEC("fentry/blk_account_io_start")
int BPF_PROG(io_start_fentry, struct request *rq)
{
	return trace_pid(rq);
}

SEC("kprobe/blk_account_io_start")
int BPF_KPROBE(io_start_kprobe, struct request *rq)
{
	return trace_pid(rq);
}

SEC("tp_btf/block_io_start")
int io_start_btf(u64 *ctx)
{
	return trace_pid((void *)ctx[0]);
}

SEC("raw_tp/block_io_start")
int io_start_raw(u64 *ctx)
{
	return trace_pid((void *)ctx[0]);
}

static __always_inline int trace_rq_start(void *rq, bool insert)
{
	struct stage *stagep, stage = {};
	u64 key = (u64)rq;
	u64 ts = bpf_ktime_get_ns();

	stagep = bpf_map_lookup_elem(&start, &key);
	if (!stagep) {
		stage.dev = rq_dev(rq);
		if (filter_dev && targ_dev != stage.dev)
			return 0;
		stagep = &stage;
	}
	if (insert)
		stagep->insert = ts;
	else
		stagep->issue = ts;
	if (stagep == &stage)
		bpf_map_update_elem(&start, &key, stagep, BPF_ANY);
	return 0;
}

static __always_inline int trace_rq_complete(void *rq)
{
	u64 key = (u64)rq;
	u64 ts = bpf_ktime_get_ns();
	struct piddata *piddatap;
	struct bio_event *e;
	struct stage *stagep;
	s64 delta;

	stagep = bpf_map_lookup_elem(&start, &key);
	if (!stagep)
		goto cleanup;
	delta = (s64)(ts - stagep->issue);
	if (!stagep->issue || delta < 0 || delta < min_ns)
		goto cleanup;
	piddatap = bpf_map_lookup_elem(&infobyreq, &key);
	if (!piddatap && filter_cg)
		goto cleanup;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto cleanup;
	if (piddatap) {
		__builtin_memcpy(&e->comm, piddatap->comm, sizeof(e->comm));
		e->pid = piddatap->pid;
	} else {
		__builtin_memset(&e->comm, 0, sizeof(e->comm));
		e->comm[0] = '?';
		e->pid = 0;
	}
	e->delta_ns = delta;
	e->qdelta_ns = 0;
	if (targ_queued && rq_has_elevator(rq)) {
		if (!stagep->insert)
			e->qdelta_ns = -1; /* insert missed, or the request skipped it */
		else
			e->qdelta_ns = stagep->issue - stagep->insert;
	}
	e->ts_ns = ts;
	e->sector = BPF_CORE_READ((struct request *)rq, __sector);
	e->len = BPF_CORE_READ((struct request *)rq, __data_len);
	e->cmd_flags = BPF_CORE_READ((struct request *)rq, cmd_flags);
	e->dev = stagep->dev;
	submit_event(&events, e);
cleanup:
	bpf_map_delete_elem(&start, &key);
	bpf_map_delete_elem(&infobyreq, &key);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int block_rq_insert_btf(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), true);
}

SEC("tp_btf/block_rq_issue")
int block_rq_issue_btf(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), false);
}

SEC("tp_btf/block_rq_complete")
int block_rq_complete_btf(u64 *ctx)
{
	return trace_rq_complete((void *)ctx[0]);
}

SEC("raw_tp/block_rq_insert")
int block_rq_insert_raw(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), true);
}

SEC("raw_tp/block_rq_issue")
int block_rq_issue_raw(u64 *ctx)
{
	return trace_rq_start(rq_of_insert_issue(ctx), false);
}

SEC("raw_tp/block_rq_complete")
int block_rq_complete_raw(u64 *ctx)
{
	return trace_rq_complete((void *)ctx[0]);
}
