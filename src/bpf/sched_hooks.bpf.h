/* SPDX-License-Identifier: GPL-2.0 */
/* The scheduler hooks runqlat and runqslower share, in both flavours:
 * tp_btf (typed, 5.5+) and raw_tp (where tp_btf is refused); user space
 * loads one set (probe::apply_raw_tp_style).
 *
 * Include it after defining
 *   static int trace_enqueue(struct task_struct *p);
 *   static int handle_switch(struct task_struct *prev, struct task_struct *next);
 */
#ifndef __BPFKIT_SCHED_HOOKS_BPF_H
#define __BPFKIT_SCHED_HOOKS_BPF_H

#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return trace_enqueue(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return trace_enqueue(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *p)
{
	return trace_enqueue(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new, struct task_struct *p)
{
	return trace_enqueue(p);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch(prev, next);
}

#endif /* __BPFKIT_SCHED_HOOKS_BPF_H */
