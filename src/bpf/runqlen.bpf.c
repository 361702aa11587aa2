/* SPDX-License-Identifier: GPL-2.0 */
/* runqlen — sample the run-queue length of every CPU (libbpf-tools'
 * runqlen).
 *
 * A perf event per CPU (the software cpu-clock, which keeps ticking on an
 * idle CPU) runs do_sample FREQUENCY times a second. It reads the
 * nr_running (nr_queued since 6.14) of the cfs_rq the interrupted task is
 * queued on, as libbpf-tools does, or with targ_host (-H) the whole run
 * queue's nr_running, and counts one sample in that length's slot, minus
 * the running task: slot 0 is "nothing waiting".
 *
 * Unlike libbpf-tools (a .bss array that user space reads and zeroes, racing
 * with the samples), the counts live in a per-CPU array and only go up: user
 * space prints the difference between two reads, so no sample is lost
 * between reading and clearing, and bpfkit-exporter reads the same counters. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "runqlen.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool targ_host = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* For the skeleton's Rust type. */
struct hist _hist = {};

/* Linux 6.14 renamed cfs_rq::nr_running to nr_queued (commit 736c55a02c47). */
struct cfs_rq___pre_v614 {
	unsigned int nr_running;
};

static __always_inline __u64 cfs_rq_queued(void *cfs_rq)
{
	if (bpf_core_field_exists(struct cfs_rq___pre_v614, nr_running))
		return BPF_CORE_READ((struct cfs_rq___pre_v614 *)cfs_rq, nr_running);
	return BPF_CORE_READ((struct cfs_rq *)cfs_rq, nr_queued);
}

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 zero = 0;
	struct hist *hist;
	__u64 slot;

	if (targ_host)
		slot = BPF_CORE_READ(task, se.cfs_rq, rq, nr_running);
	else
		slot = cfs_rq_queued(BPF_CORE_READ(task, se.cfs_rq));
	/* The running task is not waiting: 0 is idle or one task running. */
	if (slot > 0)
		slot--;
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	hist = bpf_map_lookup_elem(&hists, &zero);
	if (!hist)
		return 0;
	/* Per-CPU and never nested on one CPU: a plain increment is enough. */
	hist->slots[slot]++;
	return 0;
}
