/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __EXECSNOOP_H
#define __EXECSNOOP_H

#define TASK_COMM_LEN 16
/* One argument is read into at most ARGSIZE bytes (longer ones are cut). */
#define ARGSIZE 128
/* --max-args accepts 1..=TOTAL_MAX_ARGS; the default is DEFAULT_MAXARGS. */
#define TOTAL_MAX_ARGS 60
#define DEFAULT_MAXARGS 20
#define FULL_MAX_ARGS_ARR (TOTAL_MAX_ARGS * ARGSIZE)
#define LAST_ARG (FULL_MAX_ARGS_ARR - ARGSIZE)

/* The fixed head of every record in the perf buffer. It is followed by
 * `args_size` bytes holding `args_count` NUL-terminated strings: the exec'd
 * path, then argv[1..]. A record carries only the used part of the buffer. */
struct exec_event {
	__u32 pid;		/* process (tgid) */
	__u32 ppid;		/* parent process at exec time */
	__u32 uid;
	__s32 retval;		/* 0, or -errno of a failed exec */
	__u32 args_count;	/* strings in the args bytes */
	__u32 args_size;	/* bytes of args that follow this header */
	__u32 args_truncated;	/* 1: argv had more than max-args (or did not fit) */
	char comm[TASK_COMM_LEN]; /* after a successful exec: the new program */
};

#endif /* __EXECSNOOP_H */
