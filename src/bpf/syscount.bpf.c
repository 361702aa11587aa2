/* SPDX-License-Identifier: GPL-2.0 */
/* syscount — count syscalls, and with -L the time spent in them, by syscall
 * number or (-P) by process, as libbpf-tools syscount does.
 *
 * Hooks the raw_syscalls sys_enter/sys_exit raw tracepoints, as tp_btf
 * programs or raw_tp ones where tp_btf is refused (probe::apply_raw_tp_style);
 * sys_enter is loaded only with -L. libbpf-tools attaches the tracefs
 * tracepoints instead, which fill a trace record per syscall: raw
 * tracepoints hand the arguments over directly, a cheaper path on every
 * syscall of the machine. The raw sys_exit gets (regs, ret): the syscall
 * number is read from the saved registers, as the tracepoint's `id` is
 * (syscall_get_nr()).
 *
 * Differences from libbpf-tools' BPF side:
 *  - counts and times are added atomically (two CPUs running the same
 *    syscall lost updates with `++`);
 *  - the start times live in an LRU hash: threads that ended inside a
 *    syscall (exit, exit_group, a kill) no longer fill the map for good,
 *    which silently stopped -L from timing new threads;
 *  - a syscall not counted because `data` was full is counted in `drops`
 *    and reported at exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "syscount.h"
#include "cgroup.bpf.h"
#include "drops.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool count_by_process = false;
const volatile bool measure_latency = false;
const volatile bool filter_failed = false;
const volatile int filter_errno = 0;
const volatile pid_t filter_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct data_t);
} data SEC(".maps");

/* For the skeleton's Rust type. */
struct data_t _data_t = {};

static const struct data_t zero;

/* The syscall number in the saved registers. tp_btf programs load it
 * directly (a typed pointer); raw_tp ones go through a probe-read helper,
 * a call on every syscall. */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR_FIELD orig_ax
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR_FIELD syscallno
#else
#error "syscount: no syscall number register for this architecture"
#endif

static __always_inline bool traced(__u64 pid_tgid)
{
	if (filter_pid && (pid_t)(pid_tgid >> 32) != filter_pid)
		return false;
	return cgroup_allowed();
}

static __always_inline int on_enter(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = pid_tgid;
	__u64 ts, *slot;

	if (!traced(pid_tgid))
		return 0;
	ts = bpf_ktime_get_ns();
	/* The thread's slot, overwritten in place: an update of an existing
	 * key would take a fresh element from the LRU lists every syscall. */
	slot = bpf_map_lookup_elem(&start, &tid);
	if (slot)
		*slot = ts;
	else
		bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long id, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = pid_tgid, key;
	struct data_t *val;
	__u64 *start_ts;
	__u64 delta = 0;

	/* Not a syscall (the exit of a signal delivery, a kernel thread). */
	if (id < 0)
		return 0;
	if (filter_failed && ret >= 0)
		return 0;
	if (filter_errno && ret != -filter_errno)
		return 0;
	if (!traced(pid_tgid))
		return 0;
	if (measure_latency) {
		/* None: the syscall began before tracing did. */
		start_ts = bpf_map_lookup_elem(&start, &tid);
		if (!start_ts)
			return 0;
		delta = bpf_ktime_get_ns() - *start_ts;
	}

	key = count_by_process ? (__u32)(pid_tgid >> 32) : (__u32)id;
	val = bpf_map_lookup_or_try_init(&data, &key, &zero);
	if (!val) {
		count_drop();
		return 0;
	}
	__sync_fetch_and_add(&val->count, 1);
	if (measure_latency)
		__sync_fetch_and_add(&val->total_ns, delta);
	if (count_by_process) {
		/* Every time: exec or prctl may rename the process. */
		struct task_struct *task = (void *)bpf_get_current_task();

		BPF_CORE_READ_STR_INTO(&val->comm, task, group_leader, comm);
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_enter();
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_exit(regs->SYSCALL_NR_FIELD, ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter();
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_exit(BPF_CORE_READ(regs, SYSCALL_NR_FIELD), ret);
}
