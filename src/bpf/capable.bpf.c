/* SPDX-License-Identifier: GPL-2.0 */
/* capable — security capability checks (cap_capable()), after libbpf-tools
 * capable: who asked for which capability, whether it would be audited,
 * and the verdict.
 *
 * Three program sets; user space loads exactly one (probe::select_programs):
 *
 *  - fexit cap_capable: arguments and result in one program.
 *  - kprobe + kretprobe cap_capable (libbpf-tools): the entry keeps the
 *    arguments per thread, the return emits.
 *  - tracepoint capability:cap_capable (kernels since 6.13 without kprobes
 *    or fentry): fires at the end of cap_capable() in the checking task with
 *    the capability and result, but not the options (CAP_OPT_NOAUDIT,
 *    CAP_OPT_INSETID): audit and insetid are then -1 (unknown), never
 *    guessed.
 *
 * -u dedups in BPF (as libbpf-tools does): a `seen` hash remembers each
 * (capability, process) or (capability, cgroup) already reported. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "capable.h"
#include "cgroup.bpf.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/security.h */
#define CAP_OPT_NOAUDIT (1 << 1)
#define CAP_OPT_INSETID (1 << 2)

const volatile pid_t my_pid = 0;
const volatile pid_t targ_pid = 0;
const volatile enum uniqueness unique_type = UNQ_OFF;
const volatile bool kernel_stack = false;
const volatile bool user_stack = false;

struct args_t {
	int cap;
	int cap_opt;
};

struct unique_key {
	int cap;
	__u32 tgid;
	__u64 cgroupid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct args_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct unique_key);
	__type(value, __u64);
} seen SEC(".maps");

/* Sized from --perf-max-stack-depth and --stack-storage-size. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 1024);
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct cap_event _cap_event = {};

/* Whether the current task is one to trace. */
static __always_inline bool wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == my_pid)
		return false;
	if (targ_pid && targ_pid != tgid)
		return false;
	return cgroup_allowed();
}

/* Emits one check; `cap_opt` < 0: the options are unknown. */
static __always_inline int emit(void *ctx, int cap, int cap_opt, int ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct cap_event *e;

	if (unique_type != UNQ_OFF) {
		struct unique_key key = {.cap = cap};
		__u64 zero = 0;

		if (unique_type == UNQ_CGROUP)
			key.cgroupid = bpf_get_current_cgroup_id();
		else
			key.tgid = pid_tgid >> 32;
		if (bpf_map_lookup_elem(&seen, &key))
			return 0;
		bpf_map_update_elem(&seen, &key, &zero, BPF_ANY);
	}
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cap = cap;
	e->ret = ret;
	if (cap_opt < 0) {
		e->audit = -1;
		e->insetid = -1;
	} else {
		e->audit = (cap_opt & CAP_OPT_NOAUDIT) == 0;
		e->insetid = (cap_opt & CAP_OPT_INSETID) != 0;
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->kern_stack_id = -1;
	e->user_stack_id = -1;
	if (kernel_stack)
		e->kern_stack_id = bpf_get_stackid(ctx, &stackmap, 0);
	if (user_stack)
		e->user_stack_id = bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK);
	e->pad = 0;
	submit_event(&events, e);
	return 0;
}

/* ---- fentry ---- */

SEC("fexit/cap_capable")
int BPF_PROG(fexit_cap_capable, const struct cred *cred, struct user_namespace *targ_ns,
	     int cap, unsigned int cap_opt, int ret)
{
	if (!wanted())
		return 0;
	return emit(ctx, cap, cap_opt & 0x7fffffff, ret);
}

/* ---- kprobe ---- */

SEC("kprobe/cap_capable")
int BPF_KPROBE(kprobe_cap_capable, const struct cred *cred, struct user_namespace *targ_ns,
	       int cap, unsigned int cap_opt)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct args_t args = {.cap = cap, .cap_opt = cap_opt & 0x7fffffff};

	if (!wanted())
		return 0;
	bpf_map_update_elem(&start, &pid_tgid, &args, BPF_ANY);
	return 0;
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(kretprobe_cap_capable, int ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct args_t *ap = bpf_map_lookup_elem(&start, &pid_tgid);
	struct args_t args;

	if (!ap)
		return 0; /* missed entry */
	args = *ap;
	bpf_map_delete_elem(&start, &pid_tgid);
	return emit(ctx, args.cap, args.cap_opt, ret);
}

/* ---- tracepoint ---- */

SEC("tracepoint/capability/cap_capable")
int tp_cap_capable(struct trace_event_raw_cap_capable *ctx)
{
	if (!wanted())
		return 0;
	return emit(ctx, ctx->cap, -1, ctx->ret);
}
