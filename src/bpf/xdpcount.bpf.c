/* SPDX-License-Identifier: GPL-2.0 */
/* xdpcount — the tutorial's XDP source-address counter: for every IPv4 or
 * IPv6 packet arriving on the interface, count it (and its bytes) under
 * its source address in a hash map that user space prints and clears every
 * interval. Every packet goes on (XDP_PASS).
 *
 * A packet whose address no longer fits in the full map is counted in
 * `drops` (drops.bpf.h), which the tool reports, instead of vanishing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpcount.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define AF_INET 2
#define AF_INET6 10
#define MAX_ENTRIES 16384

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct xdpcount_key);
	__type(value, struct xdpcount_value);
} counts SEC(".maps");

struct xdpcount_key _xdpcount_key = {};
struct xdpcount_value _xdpcount_value = {};

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct xdpcount_key key = {};
	struct xdpcount_value one, *v;
	struct ethhdr *eth = data;
	void *l3;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	l3 = eth + 1;
	/* One VLAN tag (802.1Q or 802.1ad) is looked through. */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr_ *vh = l3;

		if ((void *)(vh + 1) > data_end)
			return XDP_PASS;
		proto = vh->proto;
		l3 = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		key.family = AF_INET;
		__builtin_memcpy(key.addr, &ip->saddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		key.family = AF_INET6;
		__builtin_memcpy(key.addr, &ip6->saddr, 16);
	} else {
		return XDP_PASS;
	}

	v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, (__u64)(data_end - data));
		return XDP_PASS;
	}
	one.packets = 1;
	one.bytes = data_end - data;
	/* Another CPU may have added the key meanwhile: then add to it. */
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&counts, &key);
		if (v) {
			__sync_fetch_and_add(&v->packets, 1);
			__sync_fetch_and_add(&v->bytes, one.bytes);
		} else {
			count_drop();
		}
	}
	return XDP_PASS;
}
