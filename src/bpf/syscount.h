/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __SYSCOUNT_H
#define __SYSCOUNT_H

#define TASK_COMM_LEN 16
/* Keys of `data`: syscall numbers (a few hundred), or pids with -P. */
#define MAX_ENTRIES 10240
/* Threads with a syscall start time kept (-L); least recently used go. */
#define MAX_THREADS 10240

/* One syscall's (or with -P one process's) numbers since the last read. */
struct data_t {
	__u64 count;
	__u64 total_ns;	/* time in the syscalls, with -L */
	char comm[TASK_COMM_LEN];	/* the process's name, with -P */
};

#endif /* __SYSCOUNT_H */
