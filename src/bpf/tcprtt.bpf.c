/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lesson 14: tcprtt — summarize the smoothed TCP round-trip time as a log2
 * histogram, sampled each time an established socket receives a segment.
 *
 * Three ways to see tcp_rcv_established(), one loaded (probe::apply):
 *  - fentry/tcp_rcv_established (the tutorial's program): typed sock;
 *  - kprobe/tcp_rcv_established: the same, for kernels without fentry;
 *  - tracepoint tcp:tcp_probe, which tcp_rcv_established() fires on entry
 *    and which already carries srtt (>> 3), ports and addresses.
 *
 * Histograms live in a hash keyed by local (-b) or remote (-B) address, or
 * one all-zero key; user space prints and deletes them every interval. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcprtt.h"
#include "bits.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define MAX_ENTRIES 10240

const volatile bool targ_laddr_hist = false;
const volatile bool targ_raddr_hist = false;
const volatile bool targ_show_ext = false;
const volatile bool targ_ms = false;
/* Ports in host byte order; 0 means any. */
const volatile __u16 targ_sport = 0;
const volatile __u16 targ_dport = 0;
/* Address filters: family 0 means any; IPv4 uses the first 4 bytes. */
const volatile __u16 targ_saddr_family = 0;
const volatile __u16 targ_daddr_family = 0;
const volatile __u8 targ_saddr[16] = {};
const volatile __u8 targ_daddr[16] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* For the skeleton's Rust types. */
struct hist_key _hist_key = {};
struct hist _hist = {};

static const struct hist zero_hist;

/* One sample, whichever hook saw it. */
struct rtt_sample {
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Volatile on purpose: the rodata must be read at run time (a builtin
 * memcmp would let the compiler fold the zero initializer). */
static __always_inline bool addr_differs(const volatile __u8 *want, const __u8 *have)
{
	for (int i = 0; i < 16; i++)
		if (want[i] != have[i])
			return true;
	return false;
}

static __always_inline int record(const struct rtt_sample *s, __u32 srtt)
{
	struct hist_key key = {};
	struct hist *histp;
	__u64 slot;

	if (s->family != AF_INET && s->family != AF_INET6)
		return 0;
	if (targ_sport && targ_sport != s->sport)
		return 0;
	if (targ_dport && targ_dport != s->dport)
		return 0;
	if (targ_saddr_family &&
	    (targ_saddr_family != s->family || addr_differs(targ_saddr, s->saddr)))
		return 0;
	if (targ_daddr_family &&
	    (targ_daddr_family != s->family || addr_differs(targ_daddr, s->daddr)))
		return 0;

	if (targ_laddr_hist) {
		key.family = s->family;
		__builtin_memcpy(key.addr, s->saddr, sizeof(key.addr));
	} else if (targ_raddr_hist) {
		key.family = s->family;
		__builtin_memcpy(key.addr, s->daddr, sizeof(key.addr));
	}

	histp = bpf_map_lookup_elem(&hists, &key);
	if (!histp) {
		bpf_map_update_elem(&hists, &key, &zero_hist, BPF_NOEXIST);
		histp = bpf_map_lookup_elem(&hists, &key);
		if (!histp)
			return 0;
	}
	if (targ_ms)
		srtt /= 1000U;
	slot = log2_slot(srtt, MAX_SLOTS);
	__sync_fetch_and_add(&histp->slots[slot], 1);
	if (targ_show_ext) {
		__sync_fetch_and_add(&histp->latency, srtt);
		__sync_fetch_and_add(&histp->cnt, 1);
	}
	return 0;
}

/* fentry and kprobe: read the socket (CO-RE). */
static __always_inline int handle_sock(struct sock *sk)
{
	struct inet_sock *inet = (struct inet_sock *)sk;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct rtt_sample s = {};

	s.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	s.sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	s.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (s.family == AF_INET) {
		bpf_core_read(s.saddr, 4, &inet->inet_saddr);
		bpf_core_read(s.daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (s.family == AF_INET6) {
		bpf_core_read(s.saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(s.daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return 0;
	}
	return record(&s, BPF_CORE_READ(tp, srtt_us) >> 3);
}

SEC("fentry/tcp_rcv_established")
int BPF_PROG(tcp_rcv, struct sock *sk)
{
	return handle_sock(sk);
}

SEC("kprobe/tcp_rcv_established")
int BPF_KPROBE(tcp_rcv_kprobe, struct sock *sk)
{
	return handle_sock(sk);
}

/* tracepoint: saddr/daddr hold a sockaddr_in or sockaddr_in6 (family
 * first), the ports are in host order and srtt is srtt_us >> 3 already. */
SEC("tracepoint/tcp/tcp_probe")
int tp_tcp_probe(struct trace_event_raw_tcp_probe *ctx)
{
	struct rtt_sample s = {};
	__u16 family = 0;

	bpf_core_read(&family, sizeof(family), &ctx->saddr[0]);
	s.family = family;
	s.sport = BPF_CORE_READ(ctx, sport);
	s.dport = BPF_CORE_READ(ctx, dport);
	if (family == AF_INET) {
		/* struct sockaddr_in: family, port, then the address */
		bpf_core_read(s.saddr, 4, &ctx->saddr[4]);
		bpf_core_read(s.daddr, 4, &ctx->daddr[4]);
	} else if (family == AF_INET6) {
		/* struct sockaddr_in6: family, port, flowinfo, then the address */
		bpf_core_read(s.saddr, 16, &ctx->saddr[8]);
		bpf_core_read(s.daddr, 16, &ctx->daddr[8]);
	} else {
		return 0;
	}
	return record(&s, BPF_CORE_READ(ctx, srtt));
}
