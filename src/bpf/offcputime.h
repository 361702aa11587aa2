/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OFFCPUTIME_H
#define __OFFCPUTIME_H

#define TASK_COMM_LEN 16
#define MAX_STACK_DEPTH 127
#define MAX_PID_NR 30
#define MAX_TID_NR 30

/* The key of `info`: off-CPU time per (thread, process, user stack, kernel
 * stack), as libbpf-tools offcputime keys it. A stack id is a
 * bpf_get_stackid() result (an id in `stackmap` or a negative errno), or
 * -EFAULT (no such stack) when that side is not taken (a kernel thread's
 * user stack, -U / -K). */
struct key_t {
	__u32 pid;
	__u32 tgid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
};

/* Microseconds blocked, summed, and the thread's name. */
struct val_t {
	__u64 delta;
	char comm[TASK_COMM_LEN];
};

#endif /* __OFFCPUTIME_H */
