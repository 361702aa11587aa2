/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __UNLINK_H
#define __UNLINK_H

#define TASK_COMM_LEN 16
#define UNLINK_PATH_LEN 256

struct unlink_event {
	__u32 pid;
	__u32 tid;
	__s32 ret;
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char filename[UNLINK_PATH_LEN];
};

#endif /* __UNLINK_H */
