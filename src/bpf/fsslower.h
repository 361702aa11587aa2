/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __FSSLOWER_H
#define __FSSLOWER_H

#include "fsops.h"

#define FILE_NAME_LEN 32
#define TASK_COMM_LEN 16

/* One slow operation (libbpf-tools' struct event, plus the thread id). */
struct fs_event {
	__u64 delta_us;
	__u64 end_ns;
	__s64 offset;
	/* Bytes read or written (the return value); fsync: end - start of
	 * the range (LLONG_MAX for the whole file). */
	__s64 size;
	__u32 pid;
	__u32 tid;
	__u32 op; /* enum fs_file_op */
	__u32 pad;
	char file[FILE_NAME_LEN];
	char task[TASK_COMM_LEN];
};

#endif /* __FSSLOWER_H */
