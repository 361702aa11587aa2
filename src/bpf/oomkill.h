/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OOMKILL_H
#define __OOMKILL_H

#define TASK_COMM_LEN 16

/* One OOM kill: the task whose allocation triggered it (the current task
 * where the kill is made) and the victim. */
struct oom_event {
	/* oom_control->totalpages; -1 where the mechanism cannot see it (the
	 * oom:mark_victim tracepoint). */
	__s64 pages;
	__u32 tpid;
	__u32 kpid;
	char tcomm[TASK_COMM_LEN];
	char kcomm[TASK_COMM_LEN];
};

#endif /* __OOMKILL_H */
