/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __CAPABLE_H
#define __CAPABLE_H

#define TASK_COMM_LEN 16

/* -u: report each capability once per process or per cgroup. */
enum uniqueness {
	UNQ_OFF,
	UNQ_PID,
	UNQ_CGROUP,
};

/* One capability check (cap_capable()). */
struct cap_event {
	/* Stack ids in `stackmap` (a negative errno when not taken or lost). */
	__s64 kern_stack_id;
	__s64 user_stack_id;
	__u32 pid;	/* thread group id */
	__u32 tid;
	__u32 uid;
	__s32 cap;
	__s32 ret;	/* 0: allowed, else -EPERM */
	/* 1 or 0; -1 where the mechanism cannot see cap_capable's options
	 * (the capability:cap_capable tracepoint does not carry them). */
	__s32 audit;
	__s32 insetid;
	char comm[TASK_COMM_LEN];
	__u32 pad;
};

#endif /* __CAPABLE_H */
