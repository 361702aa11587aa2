/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __FSDIST_H
#define __FSDIST_H

#include "fsops.h"

/* log2 slots (usecs, or msecs with -m); the last also holds longer ones. */
#define MAX_SLOTS 32

/* One operation's histogram (libbpf-tools' struct hist), plus the total
 * of the latencies for the exporter. */
struct fs_hist {
	__u64 slots[MAX_SLOTS];
	__u64 sum_ns;
};

#endif /* __FSDIST_H */
