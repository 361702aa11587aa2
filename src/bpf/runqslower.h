/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __RUNQSLOWER_H
#define __RUNQSLOWER_H

#define TASK_COMM_LEN 16

/* A task that waited on a run queue longer than min_us before it ran. */
struct event {
	__u64 delta_us;		/* how long it waited runnable */
	__u32 tid;		/* the task switched in */
	__u32 pid;		/* its process (tgid) */
	__u32 prev_tid;		/* the task it replaced on the CPU */
	__u32 cpu;
	char comm[TASK_COMM_LEN];
	char prev_comm[TASK_COMM_LEN];
};

#endif /* __RUNQSLOWER_H */
