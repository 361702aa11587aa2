/* SPDX-License-Identifier: GPL-2.0 */
/* tcsnoop — the tutorial's tc ingress classifier (lesson "tc"): for every
 * IPv4 packet through the hook, its total length and TTL (plus addresses
 * and protocol), sent to user space through a ring buffer instead of
 * bpf_printk.
 *
 * TC_ACT_UNSPEC (-1) means "continue with the next program / default
 * action" under both clsact and tcx (where it is TCX_NEXT), so the program
 * never ends a chain that other filters on the device belong to. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tcsnoop.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define TC_ACT_UNSPEC (-1)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct tcsnoop_event _tcsnoop_event = {};

SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	struct tcsnoop_event *e;
	struct iphdr l3;

	if (ctx->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	/* The tutorial reads the IP header right after an Ethernet header
	 * (direct packet access); reading it relative to the network header
	 * also works on devices without one (tun, WireGuard). */
	if (bpf_skb_load_bytes_relative(ctx, 0, &l3, sizeof(l3), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;

	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return TC_ACT_UNSPEC;
	e->ts_ns = bpf_ktime_get_ns();
	e->saddr = l3.saddr;
	e->daddr = l3.daddr;
	e->skb_len = ctx->len;
	e->tot_len = bpf_ntohs(l3.tot_len);
	e->ttl = l3.ttl;
	e->protocol = l3.protocol;
	submit_event(&events, e);
	return TC_ACT_UNSPEC;
}
