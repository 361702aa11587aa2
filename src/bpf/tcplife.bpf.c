/* SPDX-License-Identifier: GPL-2.0 */
/* tcplife: one event per TCP session as it closes, with its duration and
 * the bytes it moved each way, from the sock:inet_sock_set_state
 * tracepoint (as libbpf-tools tcplife).
 *
 * birth remembers when a socket last entered a state below FIN_WAIT1
 * (ESTABLISHED, as libbpf-tools); idents who connected it (SYN_SENT),
 * closed it after the peer did (LAST_ACK) or, for an accepted socket, closed
 * it first (FIN_WAIT1: libbpf-tools leaves that one to whatever task the
 * final CLOSE runs in, often ksoftirqd). At CLOSE, bytes_acked
 * and bytes_received of the tcp_sock (CO-RE reads) are the session's TX
 * and RX. Both maps are preallocated LRU hashes: a session whose CLOSE was
 * never seen cannot pin an entry forever. Ring buffer via drops.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tcplife.h"
#include "drops.bpf.h"
#include "tcp_filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define MAX_ENTRIES 10240

const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} birth SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct tcplife_ident);
} idents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct tcplife_event _tcplife_event = {};

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	__u16 family = ctx->family;
	__u16 sport = ctx->sport;
	__u16 dport = ctx->dport;
	int newstate = ctx->newstate;
	struct tcplife_ident ident = {}, *identp;
	struct tcplife_event *e;
	struct tcp_sock *tp;
	__u64 ts, *start;
	__u32 pid;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (!tcp_filter_passes(family, sport, dport))
		return 0;

	if (newstate < TCP_FIN_WAIT1) {
		/* The last such state (ESTABLISHED), as libbpf-tools. */
		ts = bpf_ktime_get_ns();
		bpf_map_update_elem(&birth, &sk, &ts, BPF_ANY);
	}

	if (newstate == TCP_SYN_SENT || newstate == TCP_LAST_ACK ||
	    newstate == TCP_FIN_WAIT1) {
		/* Named even when -p filters it out: the final CLOSE may run
		 * in the target's context (loopback softirq) and must not
		 * take its pid (libbpf-tools returns here instead). */
		ident.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(ident.comm, sizeof(ident.comm));
		/* FIN_WAIT1 (an active close, in the closing task) only names
		 * a socket nobody named yet: an accepted one. */
		bpf_map_update_elem(&idents, &sk, &ident,
				    newstate == TCP_FIN_WAIT1 ? BPF_NOEXIST : BPF_ANY);
	}

	if (newstate != TCP_CLOSE)
		return 0;

	start = bpf_map_lookup_elem(&birth, &sk);
	if (!start) {
		/* Born before tracing started (or a listener): no duration. */
		bpf_map_delete_elem(&idents, &sk);
		return 0;
	}
	ts = bpf_ktime_get_ns();
	identp = bpf_map_lookup_elem(&idents, &sk);
	pid = identp ? identp->pid : bpf_get_current_pid_tgid() >> 32;
	if (target_pid && pid != target_pid)
		goto cleanup;

	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto cleanup;
	__builtin_memset(e, 0, sizeof(*e));
	tp = (struct tcp_sock *)sk;
	e->rx_b = BPF_CORE_READ(tp, bytes_received);
	e->tx_b = BPF_CORE_READ(tp, bytes_acked);
	e->ts_us = ts / 1000;
	e->span_us = ts > *start ? (ts - *start) / 1000 : 0;
	e->pid = pid;
	e->sport = sport;
	e->dport = dport;
	e->family = family;
	if (identp)
		bpf_probe_read_kernel(e->comm, sizeof(e->comm), identp->comm);
	else
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Arrays in the record: copied by helper (the verifier refuses loads
	 * through a ctx pointer with a variable offset). */
	if (family == AF_INET) {
		bpf_probe_read_kernel(e->saddr, sizeof(ctx->saddr), ctx->saddr);
		bpf_probe_read_kernel(e->daddr, sizeof(ctx->daddr), ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, sizeof(ctx->saddr_v6), ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, sizeof(ctx->daddr_v6), ctx->daddr_v6);
	}
	submit_event(&events, e);

cleanup:
	bpf_map_delete_elem(&birth, &sk);
	bpf_map_delete_elem(&idents, &sk);
	return 0;
}
