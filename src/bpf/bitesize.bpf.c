/* SPDX-License-Identifier: GPL-2.0 */
/* bitesize — block I/O size histograms (KiB, log2), one per process name.
 *
 * As libbpf-tools: block_rq_issue (the request is handed to the driver, in
 * the issuing task's context for direct I/O) counts the request's size,
 * __data_len / 1024, in the histogram of the current comm. Filters: -c comm
 * (exact, up to its length, as libbpf-tools' comm_allowed) and -d disk
 * (the whole disk's dev_t, blk.bpf.h).
 *
 * The hook comes twice, one loaded (probe::apply_raw_tp_style): tp_btf
 * where the kernel takes it, raw_tp elsewhere. Since 5.10.137/5.11 the
 * tracepoint's only argument is the request; before (commit a54895fa) the
 * queue came first: the kernel version decides, as in libbpf-tools. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bitesize.h"
#include "bits.bpf.h"
#include "blk.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile char targ_comm[TASK_COMM_LEN] = {};
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
extern __u32 LINUX_KERNEL_VERSION __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static struct hist initial_hist;

static __always_inline bool comm_allowed(const char *comm)
{
	int i;

	for (i = 0; i < TASK_COMM_LEN && targ_comm[i] != '\0'; i++) {
		if (comm[i] != targ_comm[i])
			return false;
	}
	return true;
}

static __always_inline int trace_rq_issue(struct request *rq)
{
	struct hist_key hkey = {};
	struct hist *histp;
	u64 slot;

	if (filter_dev && rq_dev(rq) != targ_dev)
		return 0;
	bpf_get_current_comm(&hkey.comm, sizeof(hkey.comm));
	if (!comm_allowed(hkey.comm))
		return 0;

	histp = bpf_map_lookup_elem(&hists, &hkey);
	if (!histp) {
		bpf_map_update_elem(&hists, &hkey, &initial_hist, BPF_NOEXIST);
		histp = bpf_map_lookup_elem(&hists, &hkey);
		if (!histp)
			return 0;
	}
	slot = log2_slot(BPF_CORE_READ(rq, __data_len) / 1024, MAX_SLOTS);
	__sync_fetch_and_add(&histp->slots[slot], 1);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf)
{
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 10, 137))
		return trace_rq_issue((void *)ctx[0]);
	return trace_rq_issue((void *)ctx[1]);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue_raw)
{
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 10, 137))
		return trace_rq_issue((void *)ctx[0]);
	return trace_rq_issue((void *)ctx[1]);
}
