/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __RUNQLEN_H
#define __RUNQLEN_H

/* Run-queue lengths 0..MAX_SLOTS-2; the last slot also holds every longer one. */
#define MAX_SLOTS 32

/* One CPU's samples by run-queue length (tasks waiting, the running one
 * not counted): slot 0 is "nothing waiting". Counters only go up. */
struct hist {
	__u64 slots[MAX_SLOTS];
};

#endif /* __RUNQLEN_H */
