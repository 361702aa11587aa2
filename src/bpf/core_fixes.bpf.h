/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CO-RE fixes for kernel fields that were renamed, shared by the tools (as
 * libbpf-tools' core_fixes.bpf.h). */
#ifndef __BPFKIT_CORE_FIXES_BPF_H
#define __BPFKIT_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* Linux 5.14 (commit 2f064a59a1 "sched: Change task_struct::state") renamed
 * task_struct::state (long) to task_struct::__state (unsigned int). Our
 * vmlinux.h has only one of them, so both are declared as CO-RE flavours
 * and the loader keeps whichever the running kernel has. */
struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

/* The task's scheduler state (TASK_RUNNING is 0). */
static __always_inline __s64 get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

#endif /* __BPFKIT_CORE_FIXES_BPF_H */
