/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BIOLATENCY_H
#define __BIOLATENCY_H

/* log2 slots, as libbpf-tools: the last also holds everything longer. */
#define MAX_SLOTS 27

/* A histogram's key: the disk (-D, else 0) and the request's flags (-F,
 * else 0). */
struct hist_key {
	__u32 cmd_flags;
	__u32 dev;
};

struct hist {
	__u64 slots[MAX_SLOTS];
	__u64 sum_ns; /* total latency, with targ_sum (bpfkit-exporter) */
};

#endif /* __BIOLATENCY_H */
