/* SPDX-License-Identifier: GPL-2.0 */
/* biotop — block I/O by process: per (pid, comm, direction, disk) the
 * number of requests, their bytes and their time from issue to completion.
 *
 * Three moments of a request, as libbpf-tools biotop:
 *  - accounting starts (blk_account_io_start, or block_io_start on 6.5+),
 *    in the submitting task: remember its pid and comm (whobyreq);
 *  - the driver gets it (blk_mq_start_request, whose tracepoint is
 *    block_rq_issue): remember the time and size (start);
 *  - accounting ends (blk_account_io_done, or block_io_done): add the
 *    request to its row (counts), which user space reads and clears.
 *
 * Each moment comes as fentry, kprobe and tp_btf programs; user space loads
 * one mechanism's (probe::apply), and of the accounting functions the name
 * this kernel has (__blk_account_io_* on some older kernels).
 *
 * With -p only that process's requests are kept: the pid is tested when the
 * request is submitted, and a completion (in whatever task or interrupt it
 * runs) is counted only for a request remembered then. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "biotop.h"
#include "blk.bpf.h"
#include "maps.bpf.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 10240
#define REQ_OP_WRITE 1

const volatile pid_t target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, struct start_req_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u64);
	__type(value, struct who_t);
} whobyreq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct info_t);
	__type(value, struct val_t);
} counts SEC(".maps");

/* For the skeleton's Rust types. */
struct info_t _info = {};
struct val_t _val = {};

static __always_inline int trace_start(struct request *req)
{
	struct who_t who = {};
	u64 key = (u64)req;
	u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && target_pid != pid)
		return 0;
	bpf_get_current_comm(&who.name, sizeof(who.name));
	who.pid = pid;
	if (bpf_map_update_elem(&whobyreq, &key, &who, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int trace_issue(struct request *req)
{
	struct start_req_t start_req;
	u64 key = (u64)req;

	if (target_pid && !bpf_map_lookup_elem(&whobyreq, &key))
		return 0;
	start_req.ts = bpf_ktime_get_ns();
	start_req.data_len = BPF_CORE_READ(req, __data_len);
	if (bpf_map_update_elem(&start, &key, &start_req, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int trace_done(struct request *req)
{
	struct val_t *valp, zero = {};
	struct info_t info = {};
	struct start_req_t *startp;
	struct gendisk *disk;
	struct who_t *whop;
	u64 key = (u64)req;
	unsigned int cmd_flags;
	u64 delta_us;

	startp = bpf_map_lookup_elem(&start, &key);
	if (!startp)
		goto cleanup; /* issued before tracing began */
	whop = bpf_map_lookup_elem(&whobyreq, &key);
	if (target_pid && !whop)
		goto cleanup;
	delta_us = (bpf_ktime_get_ns() - startp->ts) / 1000;

	cmd_flags = BPF_CORE_READ(req, cmd_flags);
	disk = rq_disk(req);
	info.major = BPF_CORE_READ(disk, major);
	info.minor = BPF_CORE_READ(disk, first_minor);
	info.rwflag = (cmd_flags & REQ_OP_MASK) == REQ_OP_WRITE;
	if (whop) {
		info.pid = whop->pid;
		__builtin_memcpy(&info.name, whop->name, sizeof(info.name));
	}

	valp = bpf_map_lookup_or_try_init(&counts, &info, &zero);
	if (valp) {
		__sync_fetch_and_add(&valp->us, delta_us);
		__sync_fetch_and_add(&valp->bytes, startp->data_len);
		__sync_fetch_and_add(&valp->io, 1);
	} else {
		count_drop();
	}

cleanup:
	bpf_map_delete_elem(&start, &key);
	bpf_map_delete_elem(&whobyreq, &key);
	return 0;
}

/* fentry */

SEC("fentry/blk_mq_start_request")
int BPF_PROG(fentry_blk_mq_start_request, struct request *req)
{
	return trace_issue(req);
}

SEC("fentry/blk_account_io_start")
int BPF_PROG(fentry_blk_account_io_start, struct request *req)
{
	return trace_start(req);
}

SEC("fentry/blk_account_io_done")
int BPF_PROG(fentry_blk_account_io_done, struct request *req)
{
	return trace_done(req);
}

SEC("fentry/__blk_account_io_start")
int BPF_PROG(fentry___blk_account_io_start, struct request *req)
{
	return trace_start(req);
}

SEC("fentry/__blk_account_io_done")
int BPF_PROG(fentry___blk_account_io_done, struct request *req)
{
	return trace_done(req);
}

/* kprobe */

SEC("kprobe/blk_mq_start_request")
int BPF_KPROBE(kprobe_blk_mq_start_request, struct request *req)
{
	return trace_issue(req);
}

SEC("kprobe/blk_account_io_start")
int BPF_KPROBE(kprobe_blk_account_io_start, struct request *req)
{
	return trace_start(req);
}

SEC("kprobe/blk_account_io_done")
int BPF_KPROBE(kprobe_blk_account_io_done, struct request *req)
{
	return trace_done(req);
}

SEC("kprobe/__blk_account_io_start")
int BPF_KPROBE(kprobe___blk_account_io_start, struct request *req)
{
	return trace_start(req);
}

SEC("kprobe/__blk_account_io_done")
int BPF_KPROBE(kprobe___blk_account_io_done, struct request *req)
{
	return trace_done(req);
}

/* tracepoints (6.5+: block_io_start/done; block_rq_issue is fired in
 * blk_mq_start_request, its only argument the request since 5.11) */

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *req)
{
	return trace_issue(req);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *req)
{
	return trace_start(req);
}

SEC("tp_btf/block_io_done")
int BPF_PROG(block_io_done, struct request *req)
{
	return trace_done(req);
}
