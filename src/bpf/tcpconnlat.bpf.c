/* SPDX-License-Identifier: GPL-2.0 */
/* tcpconnlat — lesson 13: latency of active TCP opens, from connect() to the
 * end of the handshake (for a client about one network round trip).
 *
 * Three program sets; user space loads exactly one (probe::select_programs):
 *
 *  - fentry and kprobe (the tutorial's code, after libbpf-tools):
 *    tcp_v4_connect/tcp_v6_connect record the start time, pid and comm keyed
 *    by the socket; tcp_rcv_state_process on a socket still in SYN_SENT sees
 *    the answer to the SYN and emits the latency. Unlike the tutorial, an RST
 *    (connection refused) ends the entry without an event, and a segment that
 *    is neither SYN nor RST (the handshake goes on) leaves it alone.
 *  - tracepoint sock:inet_sock_set_state, for kernels without kprobes or
 *    fentry: SYN_SENT (set in connect(), in the connecting task) records the
 *    start, pid and comm; SYN_SENT → ESTABLISHED (usually in softirq, where
 *    the current task is unrelated) emits; → CLOSE drops the entry.
 *
 * The start map is an LRU hash: a connect that times out is never answered,
 * and the fentry/kprobe programs cannot see it close. The tutorial sends
 * events through a perf buffer; here a ring buffer counts what it drops. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpconnlat.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10

/* TCP header flags byte (offset 13). */
#define TCP_FLAGS_OFFSET 13
#define TH_RST 0x04
#define TH_SYN 0x02

const volatile __u64 targ_min_us = 0;
const volatile pid_t targ_tgid = 0;

struct piddata {
	char comm[TASK_COMM_LEN];
	__u64 ts;
	__u32 tgid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct sock * */
	__type(value, struct piddata);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct tcpconnlat_event _tcpconnlat_event = {};

/* In the connecting task: remember when and who. */
static __always_inline int trace_connect(__u64 sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct piddata p = {};

	if (targ_tgid && targ_tgid != tgid)
		return 0;
	bpf_get_current_comm(&p.comm, sizeof(p.comm));
	p.ts = bpf_ktime_get_ns();
	p.tgid = tgid;
	bpf_map_update_elem(&start, &sk, &p, BPF_ANY);
	return 0;
}

/* An event with the latency since `p` filled in, or NULL when it is below
 * the minimum (or the ring buffer is full). */
static __always_inline struct tcpconnlat_event *begin_event(const struct piddata *p)
{
	__u64 ts = bpf_ktime_get_ns();
	struct tcpconnlat_event *e;
	__s64 delta = (__s64)(ts - p->ts);
	__u64 delta_us;

	if (delta < 0)
		return NULL;
	delta_us = delta / 1000U;
	if (targ_min_us && delta_us < targ_min_us)
		return NULL;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->delta_us = delta_us;
	e->ts_us = ts / 1000;
	e->tgid = p->tgid;
	__builtin_memcpy(e->comm, p->comm, sizeof(e->comm));
	return e;
}

/* ---- fentry and kprobe: tcp_v{4,6}_connect + tcp_rcv_state_process ---- */

static __always_inline __u8 tcp_flags(struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 off = BPF_CORE_READ(skb, transport_header);
	__u8 flags;

	/* Unreadable: treat it as the answer, as the tutorial does. */
	if (bpf_probe_read_kernel(&flags, sizeof(flags), head + off + TCP_FLAGS_OFFSET))
		return TH_SYN;
	return flags;
}

static __always_inline int handle_rcv_state_process(struct sock *sk, struct sk_buff *skb)
{
	__u64 key = (__u64)sk;
	struct tcpconnlat_event *e;
	struct piddata *p;
	__u8 flags;

	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT)
		return 0;
	p = bpf_map_lookup_elem(&start, &key);
	if (!p)
		return 0;
	flags = tcp_flags(skb);
	if (!(flags & (TH_SYN | TH_RST)))
		return 0;
	if (flags & TH_RST)
		goto cleanup;
	e = begin_event(p);
	if (!e)
		goto cleanup;
	e->af = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->af == AF_INET) {
		__u32 saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->saddr, &saddr, sizeof(saddr));
		__builtin_memcpy(e->daddr, &daddr, sizeof(daddr));
	} else {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	}
	submit_event(&events, e);
cleanup:
	bpf_map_delete_elem(&start, &key);
	return 0;
}

SEC("fentry/tcp_v4_connect")
int BPF_PROG(fentry_tcp_v4_connect, struct sock *sk)
{
	return trace_connect((__u64)sk);
}

SEC("fentry/tcp_v6_connect")
int BPF_PROG(fentry_tcp_v6_connect, struct sock *sk)
{
	return trace_connect((__u64)sk);
}

SEC("fentry/tcp_rcv_state_process")
int BPF_PROG(fentry_tcp_rcv_state_process, struct sock *sk, struct sk_buff *skb)
{
	return handle_rcv_state_process(sk, skb);
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk)
{
	return trace_connect((__u64)sk);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk)
{
	return trace_connect((__u64)sk);
}

SEC("kprobe/tcp_rcv_state_process")
int BPF_KPROBE(kprobe_tcp_rcv_state_process, struct sock *sk, struct sk_buff *skb)
{
	return handle_rcv_state_process(sk, skb);
}

/* ---- tracepoint: sock:inet_sock_set_state ---- */

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 key = (__u64)ctx->skaddr;
	struct tcpconnlat_event *e;
	struct piddata *p;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	switch (ctx->newstate) {
	case TCP_SYN_SENT:
		return trace_connect(key);
	case TCP_ESTABLISHED:
		break;
	case TCP_CLOSE:
		bpf_map_delete_elem(&start, &key);
		return 0;
	default:
		return 0;
	}
	p = bpf_map_lookup_elem(&start, &key);
	if (!p)
		return 0;
	e = begin_event(p);
	if (!e)
		goto cleanup;
	e->af = ctx->family;
	e->lport = ctx->sport;
	e->dport = ctx->dport;
	/* Arrays in the record: copied by helper (the verifier refuses loads
	 * through a ctx pointer with a variable offset, which CO-RE makes). */
	if (e->af == AF_INET) {
		bpf_probe_read_kernel(e->saddr, sizeof(ctx->saddr), ctx->saddr);
		bpf_probe_read_kernel(e->daddr, sizeof(ctx->daddr), ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, sizeof(ctx->saddr_v6), ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, sizeof(ctx->daddr_v6), ctx->daddr_v6);
	}
	submit_event(&events, e);
cleanup:
	bpf_map_delete_elem(&start, &key);
	return 0;
}
