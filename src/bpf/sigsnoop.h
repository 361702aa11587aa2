/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __SIGSNOOP_H
#define __SIGSNOOP_H

#define TASK_COMM_LEN 16

/* Where an event came from (the `source` field). */
#define SIGSNOOP_GENERATE 0 /* signal:signal_generate tracepoint */
#define SIGSNOOP_KILL 1     /* kill(2) */
#define SIGSNOOP_TKILL 2    /* tkill(2) */
#define SIGSNOOP_TGKILL 3   /* tgkill(2) */

struct sigsnoop_event {
	__u32 pid;    /* sender's process id (tgid) */
	__u32 tid;    /* sender's thread id */
	__s32 tpid;   /* target pid/tid as given (kill: may be <= 0) */
	__s32 sig;    /* signal number (0: kill(pid, 0) existence check) */
	__s32 ret;    /* -k: syscall return (0 or -errno);
	               * default: signal_generate result (TRACE_SIGNAL_*) */
	__u32 source; /* SIGSNOOP_* */
	char comm[TASK_COMM_LEN];  /* sender */
	char tcomm[TASK_COMM_LEN]; /* target (signal_generate only) */
};

#endif /* __SIGSNOOP_H */
