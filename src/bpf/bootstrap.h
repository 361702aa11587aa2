/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 256

/* An exec (exit_event 0: filename set) or a process exit (exit_event 1:
 * exit_status and duration_ns set). exit_status is the whole wait(2)-style
 * status: exit code in bits 8-15, signal in bits 0-6, core dump in bit 7. */
struct bootstrap_event {
	__u64 duration_ns; /* since the exec this tool saw; 0 when none */
	__u32 pid;
	__u32 ppid;
	__u32 exit_status;
	__u32 exit_event;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

#endif /* __BOOTSTRAP_H */
