/* SPDX-License-Identifier: GPL-2.0 */
/* bootstrap — lesson 11 (libbpf-bootstrap's "bootstrap"): execs and process
 * exits with the process lifetime since exec.
 *
 * Fixes over the tutorial:
 *  - exit_code: it keeps only `(exit_code >> 8) & 0xff`, so a process killed
 *    by a signal shows [0]; here the whole wait status goes to user space;
 *  - "pid != tid means a thread exit" is not "the process exited": when a
 *    non-leader thread calls execve, de_thread() kills the old leader
 *    (pid == tid) and the tutorial reports a bogus EXIT and forgets the exec
 *    time; a process whose main thread ends first is reported too early.
 *    The process is gone when its last thread exits: the tracepoint's
 *    group_dead (older kernels: signal->live reaching 0);
 *  - the exit event reports the process name (the group leader's comm), not
 *    the name of whichever thread happened to exit last;
 *  - ring-buffer records are not zeroed: every field is set (the tutorial
 *    leaves exit_code/duration of exec events and filename of exit events
 *    as stale bytes); failed reservations are counted, not silently lost. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "bootstrap.h"
#include "drops.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile unsigned long long min_duration_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, u64);
} exec_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct bootstrap_event _bootstrap_event = {};

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task;
	struct bootstrap_event *e;
	unsigned fname_off;
	pid_t pid;
	u64 ts;

	/* After de_thread() the exec'ing thread is the leader: tgid is the pid. */
	pid = bpf_get_current_pid_tgid() >> 32;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);

	/* With a minimum duration only (long enough) exits are reported. */
	if (min_duration_ns)
		return 0;

	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	e->exit_event = 0;
	e->duration_ns = 0;
	e->exit_status = 0;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	fname_off = BPF_CORE_READ(ctx, __data_loc_filename) & 0xFFFF;
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + fname_off) < 0)
		e->filename[0] = '\0';
	submit_event(&events, e);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader;
	struct bootstrap_event *e;
	u64 *start_ts, duration_ns = 0;
	pid_t pid;

	if (!is_group_dead(ctx, task))
		return 0;
	pid = bpf_get_current_pid_tgid() >> 32;

	/* if we recorded the exec of the process, compute its lifetime */
	start_ts = bpf_map_lookup_elem(&exec_start, &pid);
	if (start_ts)
		duration_ns = bpf_ktime_get_ns() - *start_ts;
	else if (min_duration_ns)
		return 0;
	bpf_map_delete_elem(&exec_start, &pid);

	if (min_duration_ns && duration_ns < min_duration_ns)
		return 0;

	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	e->exit_event = 1;
	e->duration_ns = duration_ns;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_status = BPF_CORE_READ(task, exit_code);
	/* The leader stays a zombie until the group is reaped: still readable. */
	leader = BPF_CORE_READ(task, group_leader);
	if (bpf_core_read_str(e->comm, sizeof(e->comm), &leader->comm) <= 0)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->filename[0] = '\0';
	submit_event(&events, e);
	return 0;
}
