/* SPDX-License-Identifier: GPL-2.0 */
/* oomkill — OOM kills, after libbpf-tools oomkill: the task that triggered
 * the kill, the victim, and the pages of the OOM domain.
 *
 * Three programs; user space loads exactly one (probe::select_programs):
 *
 *  - fentry or kprobe oom_kill_process(oc, message) (libbpf-tools): runs in
 *    the triggering task; oc->chosen is the victim, oc->totalpages the
 *    size of the domain (the machine, or the memory cgroup's limit).
 *  - tracepoint oom:mark_victim, for kernels without kprobes or fentry: it
 *    fires in __oom_kill_process(), also in the triggering task, with the
 *    victim's pid and comm, but without oom_control: pages is -1 (unknown),
 *    never guessed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "oomkill.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct oom_event _oom_event = {};

/* A new event with the triggering (current) task filled in. */
static __always_inline struct oom_event *begin(void)
{
	struct oom_event *e = reserve_or_count(&events, sizeof(*e));

	if (!e)
		return NULL;
	e->tpid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->tcomm, sizeof(e->tcomm));
	return e;
}

static __always_inline int handle_kill(struct oom_control *oc)
{
	struct task_struct *victim = BPF_CORE_READ(oc, chosen);
	struct oom_event *e = begin();

	if (!e)
		return 0;
	e->kpid = BPF_CORE_READ(victim, tgid);
	e->pages = BPF_CORE_READ(oc, totalpages);
	BPF_CORE_READ_STR_INTO(&e->kcomm, victim, comm);
	submit_event(&events, e);
	return 0;
}

SEC("fentry/oom_kill_process")
int BPF_PROG(fentry_oom_kill_process, struct oom_control *oc)
{
	return handle_kill(oc);
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(kprobe_oom_kill_process, struct oom_control *oc)
{
	return handle_kill(oc);
}

SEC("tracepoint/oom/mark_victim")
int tp_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct oom_event *e = begin();
	__u32 comm_off;

	if (!e)
		return 0;
	e->kpid = ctx->pid;
	e->pages = -1;
	comm_off = ctx->__data_loc_comm & 0xffff;
	bpf_probe_read_kernel_str(e->kcomm, sizeof(e->kcomm), (void *)ctx + comm_off);
	submit_event(&events, e);
	return 0;
}
