/* SPDX-License-Identifier: GPL-2.0 */
/* Ring-buffer loss accounting shared by every event tool.
 *
 * A failed bpf_ringbuf_reserve() loses an event; we count it in a per-CPU
 * counter (no atomics on the hot path) that user space sums and reports as
 * "N events lost", so nothing is dropped silently. */
#ifndef __BPFKIT_DROPS_BPF_H
#define __BPFKIT_DROPS_BPF_H

#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
}

/* bpf_ringbuf_reserve() that counts its failures. */
static __always_inline void *reserve_or_count(void *ringbuf, __u64 size)
{
	void *p = bpf_ringbuf_reserve(ringbuf, size, 0);

	if (!p)
		count_drop();
	return p;
}

/* Wake the consumer only once this much is waiting. Below it, user space
 * finds the events on its next poll timeout (events.rs polls every 100 ms),
 * so a trickle is printed within 100 ms while a storm costs the traced
 * workload far fewer wake-ups (one per WAKEUP_BYTES, not one per event). */
#ifndef WAKEUP_BYTES
#define WAKEUP_BYTES (256 * 1024)
#endif

/* bpf_ringbuf_submit() with the adaptive wake-up above. */
static __always_inline void submit_event(void *ringbuf, void *event)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(ringbuf, BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(event, flags);
}

/* bpf_perf_event_output() that counts its failures (a full per-CPU buffer
 * returns -ENOSPC here; user space also gets the lost-sample callback). */
static __always_inline void output_or_count(void *ctx, void *perf_map, void *data, __u64 size)
{
	if (bpf_perf_event_output(ctx, perf_map, BPF_F_CURRENT_CPU, data, size) < 0)
		count_drop();
}

#endif /* __BPFKIT_DROPS_BPF_H */
