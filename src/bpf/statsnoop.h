/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __STATSNOOP_H
#define __STATSNOOP_H

#include "path.h"

#define TASK_COMM_LEN 16
#define STAT_PATH_LEN 256

/* The syscall, numbered as libbpf-tools' statsnoop numbers it. */
enum stat_syscall {
	STAT_STATFS = 1,
	STAT_NEWSTAT,
	STAT_STATX,
	STAT_NEWFSTAT,
	STAT_NEWFSTATAT,
	STAT_NEWLSTAT,
};

struct stat_event {
	__u32 pid;
	__u32 tid;
	__s32 ret;
	__u32 syscall;
	char comm[TASK_COMM_LEN];
	/* The path argument as given ("" for fstat). */
	char path[STAT_PATH_LEN];
	/* Where a relative (or empty) path starts: the working directory, the
	 * dirfd's directory, or fstat's file itself. */
	struct dir_path dir;
};

#endif /* __STATSNOOP_H */
