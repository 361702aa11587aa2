/* SPDX-License-Identifier: GPL-2.0 */
/* tcpstates — lesson 14: every TCP state change with the time the socket
 * spent in the state it leaves, from the sock:inet_sock_set_state
 * tracepoint (as the tutorial and libbpf-tools do).
 *
 * timestamps remembers, per socket, when it entered its current state; a
 * change to CLOSE forgets the socket. Filters (family, local/remote port
 * lists) run first, so a filtered-out socket costs one map lookup. The
 * tutorial sends events through a perf buffer; here a ring buffer counts
 * what it drops. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tcpstates.h"
#include "drops.bpf.h"
#include "tcp_filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define MAX_ENTRIES 10240


/* struct sock * → when it entered its current state (ns). LRU: a socket
 * whose CLOSE was filtered or missed must not pin an entry forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} timestamps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct tcpstates_event _tcpstates_event = {};

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	__u16 family = ctx->family;
	__u16 sport = ctx->sport;
	__u16 dport = ctx->dport;
	struct tcpstates_event *e;
	__u64 ts, *tsp;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (!tcp_filter_passes(family, sport, dport))
		return 0;

	ts = bpf_ktime_get_ns();
	tsp = bpf_map_lookup_elem(&timestamps, &sk);
	e = reserve_or_count(&events, sizeof(*e));
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->skaddr = sk;
		e->ts_us = ts / 1000;
		e->delta_us = tsp && ts > *tsp ? (ts - *tsp) / 1000 : 0;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->oldstate = ctx->oldstate;
		e->newstate = ctx->newstate;
		e->family = family;
		e->sport = sport;
		e->dport = dport;
		bpf_get_current_comm(&e->task, sizeof(e->task));
		/* Arrays in the record: copied by helper (the verifier refuses
		 * loads through a ctx pointer with a variable offset). */
		if (family == AF_INET) {
			bpf_probe_read_kernel(e->saddr, sizeof(ctx->saddr), ctx->saddr);
			bpf_probe_read_kernel(e->daddr, sizeof(ctx->daddr), ctx->daddr);
		} else {
			bpf_probe_read_kernel(e->saddr, sizeof(ctx->saddr_v6), ctx->saddr_v6);
			bpf_probe_read_kernel(e->daddr, sizeof(ctx->daddr_v6), ctx->daddr_v6);
		}
		submit_event(&events, e);
	}

	if (ctx->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&timestamps, &sk);
	else
		bpf_map_update_elem(&timestamps, &sk, &ts, BPF_ANY);
	return 0;
}
