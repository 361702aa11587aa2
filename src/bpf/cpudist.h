/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __CPUDIST_H
#define __CPUDIST_H

#define TASK_COMM_LEN 16
/* log2 slots: the last one also holds everything longer. */
#define MAX_SLOTS 36

/* One histogram: the whole system (key ~0), one process (-P, key tgid) or
 * one thread (-L, key tid); comm is the first task seen for the key. */
struct hist {
	__u64 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
	__u64 sum_ns; /* total of the times, with targ_sum (bpfkit-exporter) */
};

#endif /* __CPUDIST_H */
