/* SPDX-License-Identifier: GPL-2.0 */
/* sigsnoop — lesson 6: who sends which signal to whom, and with what result.
 *
 * Two modes, like libbpf-tools sigsnoop (user space turns off the set it
 * does not use with set_autoload):
 *  - default: the signal:signal_generate tracepoint, every signal the kernel
 *    generates (kill, raise, SIGCHLD on exit, SIGSEGV, timers...), with the
 *    tracepoint's `result` (TRACE_SIGNAL_DELIVERED = 0, IGNORED = 1,
 *    ALREADY_PENDING = 2, OVERFLOW_FAIL = 3, LOSE_INFO = 4);
 *  - `-k`: the tutorial's kill/tkill/tgkill syscall enter/exit pair, the
 *    entry saving the arguments in a hash map keyed by thread id and the exit
 *    completing them with the syscall's return value.
 *
 * Fixes over the tutorial: the seed's probe_entry keyed the map with an
 * uninitialised `tid`; tgkill(2) was missing (its target is args[1] and the
 * signal args[2]); results were printed with bpf_printk and now go to user
 * space through a ring buffer; filters on sender pid, signals and failures
 * are applied in the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sigsnoop.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 10240

/* Sender's process id (tgid), 0 for all. */
const volatile pid_t filtered_pid = 0;
/* Bit (sig - 1) set for each signal to trace; 0 for all signals. */
const volatile __u64 target_signals = 0;
/* Only events whose result is not 0. */
const volatile bool failed_only = false;

/* Syscall arguments saved at entry, keyed by thread id, until the exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct sigsnoop_event);
} values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Gives the skeleton a Rust definition of the event struct. */
struct sigsnoop_event _sigsnoop_event = {};

static __always_inline bool signal_wanted(int sig)
{
	if (!target_signals)
		return true;
	if (sig < 1 || sig > 64)
		return false;
	return target_signals & (1ULL << (sig - 1));
}

static __always_inline int probe_entry(pid_t tpid, int sig, __u32 source)
{
	struct sigsnoop_event event = {};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;

	if (!signal_wanted(sig))
		return 0;
	if (filtered_pid && pid != (__u32)filtered_pid)
		return 0;
	event.pid = pid;
	event.tid = tid;
	event.tpid = tpid;
	event.sig = sig;
	event.source = source;
	bpf_get_current_comm(event.comm, sizeof(event.comm));
	bpf_map_update_elem(&values, &tid, &event, BPF_ANY);
	return 0;
}

static __always_inline int probe_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sigsnoop_event *eventp, *e;
	int ret = (int)BPF_CORE_READ(ctx, ret);

	eventp = bpf_map_lookup_elem(&values, &tid);
	if (!eventp)
		return 0;
	if (failed_only && ret == 0)
		goto cleanup;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto cleanup;
	__builtin_memcpy(e, eventp, sizeof(*e));
	e->ret = ret;
	submit_event(&events, e);
cleanup:
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((pid_t)BPF_CORE_READ(ctx, args[0]), (int)BPF_CORE_READ(ctx, args[1]),
			   SIGSNOOP_KILL);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((pid_t)BPF_CORE_READ(ctx, args[0]), (int)BPF_CORE_READ(ctx, args[1]),
			   SIGSNOOP_TKILL);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx);
}

/* tgkill(tgid, tid, sig): the target is the thread. */
SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((pid_t)BPF_CORE_READ(ctx, args[1]), (int)BPF_CORE_READ(ctx, args[2]),
			   SIGSNOOP_TGKILL);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx);
}

SEC("tracepoint/signal/signal_generate")
int sig_trace(struct trace_event_raw_signal_generate *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	int sig = BPF_CORE_READ(ctx, sig);
	int result = BPF_CORE_READ(ctx, result);
	struct sigsnoop_event *e;

	if (failed_only && result == 0)
		return 0;
	if (!signal_wanted(sig))
		return 0;
	if (filtered_pid && pid != (__u32)filtered_pid)
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	e->pid = pid;
	e->tid = (__u32)pid_tgid;
	e->tpid = BPF_CORE_READ(ctx, pid);
	e->sig = sig;
	e->ret = result;
	e->source = SIGSNOOP_GENERATE;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->tcomm, ctx, comm);
	submit_event(&events, e);
	return 0;
}
