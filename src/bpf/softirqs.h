/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __SOFTIRQS_H
#define __SOFTIRQS_H

/* log2 slots: the last one (2^19 us, half a second) also holds longer times. */
#define MAX_SLOTS 20
/* Softirq vectors: hi, timer, net_tx, net_rx, block, irq_poll, tasklet,
 * sched, hrtimer, rcu (enum in include/linux/interrupt.h). */
#define NR_SOFTIRQS 10

struct hist {
	__u64 slots[MAX_SLOTS];
};

#endif /* __SOFTIRQS_H */
