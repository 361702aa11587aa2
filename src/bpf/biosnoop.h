/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BIOSNOOP_H
#define __BIOSNOOP_H

#define TASK_COMM_LEN 16

/* One completed block I/O request. */
struct bio_event {
	char comm[TASK_COMM_LEN]; /* the issuer ("?" when not seen) */
	__u64 delta_ns;           /* issue (or -Q insert) to completion */
	__s64 qdelta_ns;          /* -Q: insert to issue; -1 when insert was not seen */
	__u64 ts_ns;              /* completion, CLOCK_MONOTONIC */
	__u64 sector;
	__u32 len;                /* bytes */
	__u32 pid;                /* the issuer's tgid (0 when not seen) */
	__u32 cmd_flags;
	__u32 dev;                /* kernel dev_t of the disk */
};

#endif /* __BIOSNOOP_H */
