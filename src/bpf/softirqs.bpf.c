/* SPDX-License-Identifier: GPL-2.0 */
/* Lesson 10: softirqs — time spent in each softirq vector.
 *
 * softirq_entry/softirq_exit fire around each vector's action that
 * __do_softirq() (handle_softirqs()) runs. Two program sets, one loaded
 * (probe::apply_raw_tp_style): tp_btf and raw_tp; the only argument is the
 * vector number.
 *
 * Per vector, in global arrays that user space reads through the mmapped
 * .bss and clears with atomic exchanges each interval (as libbpf-tools
 * does): the number of runs, the total time, and with -d a log2 histogram.
 *
 * Unlike the tutorial's hardirq pattern, the per-CPU start records which
 * vector it belongs to and the exit clears it, so an exit whose entry the
 * tool missed (it attached in between) is skipped instead of timed from 0. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "softirqs.h"
#include "bits.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool targ_dist = false;
const volatile bool targ_ns = false;
/* --cpu CPU: only this CPU (-1: all). Filtering the entry is enough:
 * an exit without its entry is skipped. */
const volatile int targ_cpu = -1;

/* Softirqs do not nest on a CPU: one start slot per CPU. */
struct vec_start {
	__u64 ts;
	__u32 vec;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vec_start);
} start SEC(".maps");

__u64 counts[NR_SOFTIRQS] = {};
__u64 times[NR_SOFTIRQS] = {};
struct hist hists[NR_SOFTIRQS] = {};

static __always_inline int handle_entry(unsigned int vec)
{
	struct vec_start *s;
	__u32 zero = 0;

	if (targ_cpu >= 0 && bpf_get_smp_processor_id() != targ_cpu)
		return 0;
	s = bpf_map_lookup_elem(&start, &zero);
	if (!s)
		return 0;
	s->ts = bpf_ktime_get_ns();
	s->vec = vec;
	return 0;
}

static __always_inline int handle_exit(unsigned int vec)
{
	struct vec_start *s;
	__u32 zero = 0;
	__u64 delta;

	s = bpf_map_lookup_elem(&start, &zero);
	if (!s || !s->ts)
		return 0;
	if (s->vec != vec || vec >= NR_SOFTIRQS) {
		s->ts = 0;
		return 0;
	}
	delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	if (!targ_ns)
		delta /= 1000U;

	__sync_fetch_and_add(&counts[vec], 1);
	__sync_fetch_and_add(&times[vec], delta);
	if (targ_dist)
		__sync_fetch_and_add(&hists[vec].slots[log2_slot(delta, MAX_SLOTS)], 1);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf, unsigned int vec_nr)
{
	return handle_entry(vec_nr);
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec_nr)
{
	return handle_exit(vec_nr);
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry_raw, unsigned int vec_nr)
{
	return handle_entry(vec_nr);
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit_raw, unsigned int vec_nr)
{
	return handle_exit(vec_nr);
}
