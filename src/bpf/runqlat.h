/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __RUNQLAT_H
#define __RUNQLAT_H

#define TASK_COMM_LEN 16
/* log2 slots: the last one (2^25 us, 33 s) also holds everything longer. */
#define MAX_SLOTS 26

/* One histogram: the whole system (key ~0), or one process (-P, key tgid),
 * thread (-L, key tid) or PID namespace (--pidnss, key its inode). comm is
 * the first task seen for the key. */
struct hist {
	__u64 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
	__u64 sum_ns; /* total of the waits, with targ_sum (bpfkit-exporter) */
};

#endif /* __RUNQLAT_H */
