/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __PROFILE_H
#define __PROFILE_H

#define TASK_COMM_LEN 16
#define MAX_STACK_DEPTH 127
#define MAX_ENTRIES 10240
#define MAX_PID_NR 30
#define MAX_TID_NR 30

/* The key of `counts`: samples per (process, kernel stack, user stack,
 * comm). A stack id is a bpf_get_stackid() result: an id in `stackmap`, or
 * a negative errno (-EFAULT: no such stack, e.g. no kernel stack in user
 * mode; -EEXIST: hash collision in a full bucket; -ENOMEM...), or -1 when
 * that side is not wanted (-U / -K). */
struct key_t {
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char name[TASK_COMM_LEN];
};

/* One sample for the per-sample view (--samples), as the lesson sends it:
 * the stacks themselves, read by bpf_get_stack(). A size is in bytes, or a
 * negative errno; 0 when that side is not wanted. */
struct stacktrace_event {
	__u32 pid;
	__u32 tid;
	__u32 cpu_id;
	char comm[TASK_COMM_LEN];
	__s32 kstack_sz;
	__s32 ustack_sz;
	__u64 kstack[MAX_STACK_DEPTH];
	__u64 ustack[MAX_STACK_DEPTH];
};

#endif /* __PROFILE_H */
