/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __MINIMAL_H
#define __MINIMAL_H

#define TASK_COMM_LEN 16

struct minimal_event {
	__u32 pid;
	__u32 tid;
	__s32 fd;
	__u32 pad;
	__s64 count;
	char comm[TASK_COMM_LEN];
};

#endif /* __MINIMAL_H */
