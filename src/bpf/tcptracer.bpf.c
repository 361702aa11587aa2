/* SPDX-License-Identifier: GPL-2.0 */
/* tcptracer — TCP connects (once established), accepts and closes: which
 * task made each (pid, uid, comm) and the socket's two ends, IPv4 and IPv6
 * (as libbpf-tools' tcptracer).
 *
 * Every event names the task that made the call, never whatever task a
 * softirq happened to interrupt. Three program sets; user space loads
 * exactly one (probe::select_programs):
 *
 *  - fentry/fexit, and kprobe/kretprobe (libbpf-tools' hooks):
 *    tcp_v4_connect/tcp_v6_connect's return keeps the socket's connecting
 *    task (pid, uid, comm) in `connects`; tcp_set_state(ESTABLISHED) of
 *    that socket (the handshake done, often in softirq) prints it as C,
 *    tcp_set_state(CLOSE) drops it. inet_csk_accept's return (in the
 *    accepting task) is A; tcp_close (in the task releasing the socket:
 *    close(2), exit, ...) is X.
 *  - tracepoints, for kernels without kprobes or fentry:
 *    sock:inet_sock_set_state CLOSE → SYN_SENT runs inside connect(), in
 *    the connecting task: it keeps the task; SYN_SENT → ESTABLISHED prints
 *    C with it (SYN_SENT → CLOSE drops it). The server side's transitions
 *    run in softirq (no task of the server's), so accepts come from
 *    syscalls:sys_exit_accept/sys_exit_accept4, in the accepting task, the
 *    new socket found through the returned fd; closes from
 *    syscalls:sys_enter_close, in the closing task, when the fd holds the
 *    file's last reference (close(2) then runs tcp_close in this task, as
 *    the kernel-function hooks see it). Accepts and closes made without
 *    those syscalls (io_uring, exit with sockets open, dup2 over a socket,
 *    close_range) are not seen there.
 *
 * As libbpf-tools: no close for a socket still in SYN_SENT/SYN_RECV, nor
 * for one with an unset address or port (a listener); -p/-u filter the
 * task of the call. A v4-mapped connect (an IPv6 socket to ::ffff:a.b.c.d)
 * is reported once, as IPv6 (libbpf-tools misses it). Events go through a
 * ring buffer (libbpf-tools: a perf buffer); drops are counted. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcptracer.h"
#include "drops.bpf.h"
#include "sockfd.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define MAX_ENTRIES 8192

const volatile pid_t filter_pid = 0;
const volatile __u32 filter_uid = (__u32)-1; /* (uid_t)-1: any */
const volatile __u16 filter_family = 0;

/* struct sock * → the task that connected it, until the handshake ends.
 * LRU: a connect whose end is never seen cannot pin an entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct tcptracer_ident);
} connects SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct tcptracer_event _tcptracer_event = {};

/* -p and -u, in the task making the call. */
static __always_inline bool task_allowed(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (filter_pid && pid != filter_pid)
		return false;
	return filter_uid == (__u32)-1 || uid == filter_uid;
}

/* -4/-6, and IPv4/IPv6 only. */
static __always_inline bool family_allowed(__u16 af)
{
	if (af != AF_INET && af != AF_INET6)
		return false;
	return !filter_family || af == filter_family;
}

static __always_inline void fill_ident(struct tcptracer_ident *id)
{
	id->pid = bpf_get_current_pid_tgid() >> 32;
	id->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(id->comm, sizeof(id->comm));
}

static __always_inline bool zero16(const __u8 *a)
{
	const __u64 *w = (const __u64 *)a;

	return (w[0] | w[1]) == 0;
}

/* The ends of `sk` (family `af`) into `e`; false when an address or port
 * is unset (libbpf-tools' fill_tuple). */
static __always_inline bool read_ends(struct sock *sk, __u16 af, struct tcptracer_event *e)
{
	e->af = af;
	if (af == AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->saddr, &s, sizeof(s));
		__builtin_memcpy(e->daddr, &d, sizeof(d));
	} else {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	}
	if (zero16(e->saddr) || zero16(e->daddr))
		return false;
	e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return e->sport && e->dport;
}

static __always_inline void emit(const struct tcptracer_event *e)
{
	struct tcptracer_event *out = reserve_or_count(&events, sizeof(*out));

	if (!out)
		return;
	__builtin_memcpy(out, e, sizeof(*out));
	out->ts_us = bpf_ktime_get_ns() / 1000;
	submit_event(&events, out);
}

/* An event of the current task on socket `sk`: accept or close. */
static __always_inline void task_event(struct sock *sk, __u8 type)
{
	struct tcptracer_event e = {};
	struct tcptracer_ident id = {};
	__u16 af;

	if (!sk || !task_allowed())
		return;
	af = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (!family_allowed(af) || !read_ends(sk, af, &e))
		return;
	fill_ident(&id);
	__builtin_memcpy(e.comm, id.comm, sizeof(e.comm));
	e.pid = id.pid;
	e.uid = id.uid;
	e.kind = type;
	emit(&e);
}

/* tcp_close(sk) is about to run in the current task. */
static __always_inline void closing(struct sock *sk)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	/* No close for a connection never established (libbpf-tools). */
	if (state == TCP_SYN_SENT || state == TCP_SYN_RECV || state == TCP_NEW_SYN_RECV)
		return;
	task_event(sk, TCPTRACER_CLOSE);
}

/* The connect of `sk` finished its handshake: C, with the connecting task
 * kept in `connects` and the ends in `e` (af, addresses, ports). */
static __always_inline void established(__u64 sk, struct tcptracer_event *e)
{
	struct tcptracer_ident *id = bpf_map_lookup_elem(&connects, &sk);

	if (!id)
		return;
	__builtin_memcpy(e->comm, id->comm, sizeof(e->comm));
	e->pid = id->pid;
	e->uid = id->uid;
	e->kind = TCPTRACER_CONNECT;
	emit(e);
	bpf_map_delete_elem(&connects, &sk);
}

/* ---- fentry/fexit and kprobe/kretprobe ---- */

/* tcp_v*_connect (of family `af`) returned `ret` for `sk`: keep the task. */
static __always_inline void connect_returned(struct sock *sk, int ret, __u16 af)
{
	struct tcptracer_ident id = {};
	__u64 key = (__u64)sk;

	/* tcp_v4_connect inside tcp_v6_connect (v4-mapped): the outer one's
	 * return keeps it. */
	if (ret || BPF_CORE_READ(sk, __sk_common.skc_family) != af)
		return;
	if (!family_allowed(af) || !task_allowed())
		return;
	fill_ident(&id);
	bpf_map_update_elem(&connects, &key, &id, BPF_ANY);
}

static __always_inline void set_state(struct sock *sk, int state)
{
	struct tcptracer_event e = {};
	__u64 key = (__u64)sk;

	if (state != TCP_ESTABLISHED && state != TCP_CLOSE)
		return;
	if (state == TCP_ESTABLISHED && bpf_map_lookup_elem(&connects, &key) &&
	    read_ends(sk, BPF_CORE_READ(sk, __sk_common.skc_family), &e))
		established(key, &e);
	else
		bpf_map_delete_elem(&connects, &key);
}

#include "tcp_connect_hooks.bpf.h"

SEC("fentry/tcp_set_state")
int BPF_PROG(fentry_tcp_set_state, struct sock *sk, int state)
{
	set_state(sk, state);
	return 0;
}

/* inet_csk_accept(sk, arg) since Linux 6.10 (struct proto_accept_arg),
 * inet_csk_accept(sk, flags, err, kern) before: the return value follows
 * the arguments. */
SEC("fexit/inet_csk_accept")
int fexit_inet_csk_accept(unsigned long long *ctx)
{
	struct sock *newsk;

	/* Each branch loads its own constant slot: the verifier refuses a
	 * ctx load at a computed offset, which clang makes of a plain
	 * conditional ("dereference of modified ctx ptr"). */
	if (bpf_core_type_exists(struct proto_accept_arg)) {
		newsk = (struct sock *)ctx[2];
		barrier_var(newsk);
	} else {
		newsk = (struct sock *)ctx[4];
		barrier_var(newsk);
	}
	task_event(newsk, TCPTRACER_ACCEPT);
	return 0;
}

SEC("fentry/tcp_close")
int BPF_PROG(fentry_tcp_close, struct sock *sk)
{
	closing(sk);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kprobe_tcp_set_state, struct sock *sk, int state)
{
	set_state(sk, state);
	return 0;
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kretprobe_inet_csk_accept, struct sock *newsk)
{
	task_event(newsk, TCPTRACER_ACCEPT);
	return 0;
}

SEC("kprobe/tcp_close")
int BPF_KPROBE(kprobe_tcp_close, struct sock *sk)
{
	closing(sk);
	return 0;
}

/* ---- tracepoints ---- */

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct tcptracer_event e = {};
	struct tcptracer_ident id = {};
	__u64 sk = (__u64)ctx->skaddr;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		/* In connect(), in the connecting task. */
		if (family_allowed(ctx->family) && task_allowed()) {
			fill_ident(&id);
			bpf_map_update_elem(&connects, &sk, &id, BPF_ANY);
		}
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;
	if (ctx->newstate != TCP_ESTABLISHED) {
		bpf_map_delete_elem(&connects, &sk);
		return 0;
	}
	e.af = ctx->family;
	e.sport = ctx->sport;
	e.dport = ctx->dport;
	/* Arrays in the record: copied by helper (the verifier refuses loads
	 * through a ctx pointer with a variable offset, which CO-RE makes). */
	if (e.af == AF_INET) {
		bpf_probe_read_kernel(e.saddr, sizeof(ctx->saddr), ctx->saddr);
		bpf_probe_read_kernel(e.daddr, sizeof(ctx->daddr), ctx->daddr);
	} else {
		bpf_probe_read_kernel(e.saddr, sizeof(ctx->saddr_v6), ctx->saddr_v6);
		bpf_probe_read_kernel(e.daddr, sizeof(ctx->daddr_v6), ctx->daddr_v6);
	}
	established(sk, &e);
	return 0;
}

/* accept()/accept4() returned `ret` (the new descriptor) in this task. */
static __always_inline int accepted(long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (ret < 0 || !task_allowed())
		return 0;
	task_event(file_tcp_sock(task_file(task, (int)ret)), TCPTRACER_ACCEPT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *f;
	struct sock *sk;

	if (!task_allowed())
		return 0;
	f = task_file(task, (int)ctx->args[0]);
	sk = file_tcp_sock(f);
	/* Another reference (a dup, a fork's copy) keeps the socket open. */
	if (sk && file_last_reference(f))
		closing(sk);
	return 0;
}
