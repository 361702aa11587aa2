/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#define TASK_COMM_LEN 16
#define OPEN_PATH_LEN 256

struct open_event {
	__u64 flags;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;
	char comm[TASK_COMM_LEN];
	char path[OPEN_PATH_LEN];
};

#endif /* __OPENSNOOP_H */
