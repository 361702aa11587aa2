/* SPDX-License-Identifier: GPL-2.0 */
/* Lesson 10: hardirqs — time (or count) hard interrupt handlers by name.
 *
 * irq_handler_entry/irq_handler_exit fire around each handler
 * (struct irqaction) that handle_irq_event() runs. Two program sets, one
 * loaded (probe::apply_raw_tp_style): tp_btf (typed arguments) and raw_tp
 * for kernels without tp_btf; both read the irqaction with BPF_CORE_READ.
 *
 * Fixed from the tutorial's code:
 *  - the entry time sat in a one-slot per-CPU map that any entry
 *    overwrote and no exit cleared: an exit whose entry was missed (the tool
 *    attached between the two, or the entry was filtered out) used a stale
 *    or zero start and added a huge bogus time. The start now records which
 *    handler (irq number and irqaction) it belongs to, the exit checks it
 *    and clears it;
 *  - counters in the shared hash were bumped with plain `+=` from every CPU
 *    at once (lost updates): now atomic adds;
 *  - the lesson's text describes options hardirqs never had (-p PID, -t,
 *    -l) and names the file kprobe-link.bpf.c under an "unlink" title; the
 *    flags here are libbpf-tools' (-C, -d, -N, -T, -c CGROUP, interval
 *    [count]);
 *  - the duplicated cgroup check in the entry path is gone (cgroup.bpf.h's
 *    cgroup_allowed(): the cgroup of the task the interrupt preempted, as
 *    libbpf-tools filters); -C no longer does any work at exit; each
 *    handler's run count and longest run are kept beside the total. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "hardirqs.h"
#include "bits.bpf.h"
#include "cgroup.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 256

const volatile bool targ_dist = false;
const volatile bool targ_ns = false;
/* --cpu CPU: only this CPU (-1: all). Filtering the entry is enough:
 * an exit without its entry is skipped. */
const volatile int targ_cpu = -1;
const volatile bool do_count = false;

/* Hard irq handlers do not nest on a CPU (they run with interrupts off)
 * and the actions of a shared line run one after another, so one slot per
 * CPU is enough, provided it says whose start it is. */
struct irq_start {
	__u64 ts;
	__u64 action;
	__s32 irq;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct irq_key);
	__type(value, struct info);
} infos SEC(".maps");

/* For the skeleton's Rust types. */
struct irq_key _irq_key = {};
struct info _info = {};

static const struct info zero_info;

static __always_inline struct info *lookup_info(struct irqaction *action)
{
	struct irq_key key = {};

	bpf_probe_read_kernel_str(key.name, sizeof(key.name), BPF_CORE_READ(action, name));
	return bpf_map_lookup_or_try_init(&infos, &key, &zero_info);
}

static __always_inline int handle_entry(int irq, struct irqaction *action)
{
	struct irq_start *s;
	__u32 zero = 0;

	if (targ_cpu >= 0 && bpf_get_smp_processor_id() != targ_cpu)
		return 0;
	if (!cgroup_allowed())
		return 0;
	if (do_count) {
		struct info *info = lookup_info(action);

		if (info)
			__sync_fetch_and_add(&info->count, 1);
		return 0;
	}
	s = bpf_map_lookup_elem(&start, &zero);
	if (!s)
		return 0;
	s->ts = bpf_ktime_get_ns();
	s->action = (__u64)action;
	s->irq = irq;
	return 0;
}

static __always_inline int handle_exit(int irq, struct irqaction *action)
{
	struct irq_start *s;
	struct info *info;
	__u32 zero = 0;
	__u64 delta;

	if (do_count || !cgroup_allowed())
		return 0;
	s = bpf_map_lookup_elem(&start, &zero);
	if (!s || !s->ts)
		return 0;
	if (s->irq != irq || s->action != (__u64)action) {
		s->ts = 0;
		return 0;
	}
	delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	if (!targ_ns)
		delta /= 1000U;

	info = lookup_info(action);
	if (!info)
		return 0;
	__sync_fetch_and_add(&info->count, 1);
	__sync_fetch_and_add(&info->total, delta);
	/* Racy only between two CPUs running the same handler at once; a
	 * lost maximum there is harmless. */
	if (delta > info->max)
		info->max = delta;
	if (targ_dist)
		__sync_fetch_and_add(&info->slots[log2_slot(delta, MAX_SLOTS)], 1);
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_handler_entry_btf, int irq, struct irqaction *action)
{
	return handle_entry(irq, action);
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(irq_handler_exit_btf, int irq, struct irqaction *action)
{
	return handle_exit(irq, action);
}

/* raw_tp: the same arguments, untyped (action is read with BPF_CORE_READ,
 * i.e. bpf_probe_read_kernel, never dereferenced). */
SEC("raw_tp/irq_handler_entry")
int BPF_PROG(irq_handler_entry_raw, int irq, struct irqaction *action)
{
	return handle_entry(irq, action);
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(irq_handler_exit_raw, int irq, struct irqaction *action)
{
	return handle_exit(irq, action);
}
