/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BITESIZE_H
#define __BITESIZE_H

#define TASK_COMM_LEN 16
/* log2 slots of the size in KiB: the last (2^19 KiB, 512 MiB) also holds
 * everything larger. */
#define MAX_SLOTS 20

struct hist_key {
	char comm[TASK_COMM_LEN];
};

struct hist {
	__u64 slots[MAX_SLOTS];
};

#endif /* __BITESIZE_H */
