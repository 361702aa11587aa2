/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __EXITSNOOP_H
#define __EXITSNOOP_H

#define TASK_COMM_LEN 16

/* One exit. `status` is the whole wait(2)-style status (task->exit_code):
 * exit code in bits 8-15, terminating signal in bits 0-6, core dump bit 7. */
struct exit_event {
	__u64 start_time; /* CLOCK_MONOTONIC ns: the process (or thread, -T) start */
	__u64 exit_time;  /* CLOCK_MONOTONIC ns: bpf_ktime_get_ns() at exit */
	__u32 pid;
	__u32 ppid;
	__u32 tid;
	__u32 status;
	char comm[TASK_COMM_LEN];
};

#endif /* __EXITSNOOP_H */
