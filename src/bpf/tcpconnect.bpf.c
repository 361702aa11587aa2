/* SPDX-License-Identifier: GPL-2.0 */
/* tcpconnect — active TCP opens: who connected (pid, uid, comm) from which
 * address and port to which, IPv4 and IPv6; or, with -c, how many connects
 * went to each destination (as libbpf-tools' tcpconnect).
 *
 * Three program sets; user space loads exactly one (probe::select_programs):
 *
 *  - fexit tcp_v4_connect/tcp_v6_connect: arguments and result in one
 *    program, after connect() has picked the source port.
 *  - kprobe + kretprobe (libbpf-tools): the entry keeps the socket per
 *    thread, the return reads it when connect() succeeded.
 *  - tracepoints, for kernels without kprobes or fentry:
 *    sock:inet_sock_set_state CLOSE → SYN_SENT runs inside connect(), in
 *    the connecting task (pid, uid, comm, cgroup filters), but before the
 *    source port is chosen (it is 0 there unless bound). The connect waits
 *    in `pending` until the first sign of its SYN having gone out, which
 *    carries the port: the socket leaving SYN_SENT (the answer: ESTABLISHED,
 *    or CLOSE on a reset) or tcp:tcp_retransmit_skb (no answer after the
 *    initial RTO, 1 s). Leaving SYN_SENT with port 0 is a connect() that
 *    failed before sending anything (no free port): not reported, as
 *    libbpf-tools reports only connects whose tcp_v*_connect returned 0.
 *
 * A v4-mapped connect on an IPv6 socket runs tcp_v4_connect inside
 * tcp_v6_connect: it is reported once, at tcp_v6_connect's return, as IPv6
 * with ::ffff:a.b.c.d addresses (what the tracepoint sees too).
 *
 * libbpf-tools sends events through a perf buffer; here a ring buffer
 * counts what it drops, and -c counts a full flow map as drops. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpconnect.h"
#include "drops.bpf.h"
#include "maps.bpf.h"
#include "cgroup.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define MAX_ENTRIES 8192
#define MAX_PORTS 64

const volatile pid_t filter_pid = 0;
const volatile __u32 filter_uid = (__u32)-1; /* (uid_t)-1: any */
const volatile __u16 filter_family = 0;
const volatile bool filter_ports = false; /* -P: only dports in `ports` */
const volatile bool do_count = false;	  /* -c: count in `counts` */
const volatile bool count_sport = false;  /* -s: count per source port too */

/* -P's destination ports (host byte order; value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u16);
	__type(value, __u16);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct tcpconnect_flow);
	__type(value, __u64);
} counts SEC(".maps");

/* tracepoint: struct sock * → its connect, waiting for the source port. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct tcpconnect_event);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct tcpconnect_event _tcpconnect_event = {};
struct tcpconnect_flow _tcpconnect_flow = {};

/* -p, -u and --cgroup, in the connecting task. */
static __always_inline bool task_allowed(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (filter_pid && pid != filter_pid)
		return false;
	if (filter_uid != (__u32)-1 && uid != filter_uid)
		return false;
	return cgroup_allowed();
}

/* -4/-6 and -P. */
static __always_inline bool sock_allowed(__u16 af, __u16 dport)
{
	if (filter_family && af != filter_family)
		return false;
	if (filter_ports && !bpf_map_lookup_elem(&ports, &dport))
		return false;
	return true;
}

static __always_inline void fill_task(struct tcpconnect_event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ts_us = bpf_ktime_get_ns() / 1000;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* One connect: counted (-c) or sent to user space. */
static __always_inline void record(const struct tcpconnect_event *e)
{
	static const __u64 zero;
	struct tcpconnect_flow key = {};
	struct tcpconnect_event *out;
	__u64 *n;

	if (do_count) {
		__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
		__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
		key.af = e->af;
		key.sport = count_sport ? e->sport : 0;
		key.dport = e->dport;
		n = bpf_map_lookup_or_try_init(&counts, &key, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			count_drop(); /* the flow map is full */
		return;
	}
	out = reserve_or_count(&events, sizeof(*out));
	if (!out)
		return;
	__builtin_memcpy(out, e, sizeof(*out));
	submit_event(&events, out);
}

/* ---- fexit and kprobe: tcp_v4_connect/tcp_v6_connect ---- */

/* After tcp_v*_connect (of family `af`) returned `ret` for `sk`. */
static __always_inline void connect_returned(struct sock *sk, int ret, __u16 af)
{
	struct tcpconnect_event e = {};

	if (ret)
		return;
	/* tcp_v4_connect inside tcp_v6_connect (v4-mapped): the outer return
	 * reports it, once the IPv6 addresses are set. */
	if (BPF_CORE_READ(sk, __sk_common.skc_family) != af)
		return;
	e.af = af;
	e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (!sock_allowed(e.af, e.dport) || !task_allowed())
		return;
	if (af == AF_INET) {
		__u32 saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e.saddr, &saddr, sizeof(saddr));
		__builtin_memcpy(e.daddr, &daddr, sizeof(daddr));
	} else {
		BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_v6_daddr);
	}
	fill_task(&e);
	record(&e);
}

#include "tcp_connect_hooks.bpf.h"

/* ---- tracepoints: sock:inet_sock_set_state + tcp:tcp_retransmit_skb ---- */

/* The connect of socket `sk` sent its SYN from local port `sport`. */
static __always_inline void sent(__u64 sk, __u16 sport)
{
	struct tcpconnect_event *p = bpf_map_lookup_elem(&pending, &sk);

	if (!p)
		return;
	if (sport) {
		p->sport = sport;
		record(p);
	}
	bpf_map_delete_elem(&pending, &sk);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct tcpconnect_event e = {};
	__u64 sk = (__u64)ctx->skaddr;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->oldstate == TCP_SYN_SENT) {
		sent(sk, ctx->sport);
		return 0;
	}
	if (ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	/* In connect(), in the connecting task. */
	e.af = ctx->family;
	e.dport = ctx->dport;
	if (!sock_allowed(e.af, e.dport) || !task_allowed())
		return 0;
	/* Arrays in the record: copied by helper (the verifier refuses loads
	 * through a ctx pointer with a variable offset, which CO-RE makes). */
	if (e.af == AF_INET) {
		bpf_probe_read_kernel(e.saddr, sizeof(ctx->saddr), ctx->saddr);
		bpf_probe_read_kernel(e.daddr, sizeof(ctx->daddr), ctx->daddr);
	} else {
		bpf_probe_read_kernel(e.saddr, sizeof(ctx->saddr_v6), ctx->saddr_v6);
		bpf_probe_read_kernel(e.daddr, sizeof(ctx->daddr_v6), ctx->daddr_v6);
	}
	fill_task(&e);
	bpf_map_update_elem(&pending, &sk, &e, BPF_ANY);
	return 0;
}

/* tcp_retransmit_skb's record on older kernels (6.1), where it is of the
 * tcp_event_sk_skb class; newer ones give it its own record (with `err`).
 * The two fields read here exist in both: CO-RE finds them. */
struct trace_event_raw_tcp_event_sk_skb___old {
	const void *skaddr;
	__u16 sport;
} __attribute__((preserve_access_index));

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_tcp_retransmit_skb(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *c = ctx;

		sent((__u64)c->skaddr, c->sport);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___old *c = ctx;

		sent((__u64)c->skaddr, c->sport);
	}
	return 0;
}
