/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BASHREADLINE_H
#define __BASHREADLINE_H

#define TASK_COMM_LEN 16
/* libbpf-tools keeps 80 bytes; a ring-buffer record has room for more. */
#define MAX_LINE_SIZE 256

struct readline_event {
	__u32 pid;
	__u32 uid;
	char comm[TASK_COMM_LEN];
	char line[MAX_LINE_SIZE];
};

#endif /* __BASHREADLINE_H */
