/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#include "path.h"

#define TASK_COMM_LEN 16
#define OPEN_PATH_LEN 256
/* -c: user frames kept per open, after the innermost (the libc wrapper). */
#define OPEN_CALLERS 2

struct open_event {
	__u64 flags;
	/* -c: return addresses of the opener's callers, innermost first; 0
	 * where the stack ends (all 0 without -c). */
	__u64 callers[OPEN_CALLERS];
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;
	char comm[TASK_COMM_LEN];
	char path[OPEN_PATH_LEN];
};

/* With -F: the event, then the directory a relative path starts from. */
struct open_event_full {
	struct open_event e;
	struct dir_path dir;
};

#endif /* __OPENSNOOP_H */
