/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Bucket arithmetic for BPF histograms (log2 slots), shared by the
 * histogram tools (tcprtt, runqlat, hardirqs, softirqs, ...).
 *
 * log2(v) / log2l(v) are floor(log2(v)) for 32- and 64-bit values, with
 * log2(0) == 0: slot i of a log2 histogram counts values in
 * [2^i, 2^(i+1)), except slot 0 which also holds 0 (user space prints it
 * as "0 -> 1"). The branch-free form keeps the verifier happy on any
 * kernel. They are macros over bits_log2*() so they do not redeclare the C
 * library's double log2(double). */
#ifndef __BPFKIT_BITS_BPF_H
#define __BPFKIT_BITS_BPF_H

#include <bpf/bpf_helpers.h>

static __always_inline __u64 bits_log2(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 bits_log2l(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return bits_log2(hi) + 32;
	return bits_log2((__u32)v);
}

#define log2(v) bits_log2(v)
#define log2l(v) bits_log2l(v)

/* The log2 slot for v, clamped to the last of max_slots slots. */
static __always_inline __u64 log2_slot(__u64 v, __u64 max_slots)
{
	__u64 slot = bits_log2l(v);

	return slot < max_slots ? slot : max_slots - 1;
}

#endif /* __BPFKIT_BITS_BPF_H */
