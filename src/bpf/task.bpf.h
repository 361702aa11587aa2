/* SPDX-License-Identifier: GPL-2.0 */
/* Task helpers shared by the process-lifecycle tools. */
#ifndef __BPFKIT_TASK_BPF_H
#define __BPFKIT_TASK_BPF_H

#include <bpf/bpf_core_read.h>

/* True when the exiting thread is the last one of its process, i.e. the
 * process itself exits. (pid == tid is not that: a non-leader thread that
 * execs kills the old leader, and a leader can exit before its threads.) */
static __always_inline bool is_group_dead(struct trace_event_raw_sched_process_exit *ctx,
					  struct task_struct *task)
{
	if (bpf_core_field_exists(ctx->group_dead))
		return BPF_CORE_READ(ctx, group_dead);
	/* Before 6.16 the tracepoint had no group_dead; do_exit() has already
	 * decremented signal->live when it fires. */
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}

#endif /* __BPFKIT_TASK_BPF_H */
