/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* filelife: one short-lived file, at its unlink. */
#ifndef __FILELIFE_H
#define __FILELIFE_H

#define TASK_COMM_LEN 16
#define FILELIFE_NAME_LEN 256

struct filelife_event {
	__u64 delta_ns;
	__u32 pid;
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char name[FILELIFE_NAME_LEN];
};

#endif /* __FILELIFE_H */
