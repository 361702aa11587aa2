/* SPDX-License-Identifier: GPL-2.0 */
/* -4/-6 and the -L/-D port lists of the sock:inet_sock_set_state tools
 * (tcpstates, tcplife): the filters run first, so a filtered-out socket
 * costs a map lookup or two. User space sets the rodata and fills the
 * port sets (bpf::fill_port_set). */
#ifndef __BPFKIT_TCP_FILTER_BPF_H
#define __BPFKIT_TCP_FILTER_BPF_H

#include <bpf/bpf_helpers.h>

#define TCP_FILTER_MAX_PORTS 64

const volatile __u16 targ_family = 0;
const volatile bool filter_sport = false;
const volatile bool filter_dport = false;

/* Port sets for -L and -D (host byte order keys, value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_FILTER_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u16);
} sports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_FILTER_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u16);
} dports SEC(".maps");

/* Whether a TCP socket of `family` with these ports (host order) passes. */
static __always_inline bool tcp_filter_passes(__u16 family, __u16 sport, __u16 dport)
{
	if (targ_family && targ_family != family)
		return false;
	if (filter_sport && !bpf_map_lookup_elem(&sports, &sport))
		return false;
	if (filter_dport && !bpf_map_lookup_elem(&dports, &dport))
		return false;
	return true;
}

#endif /* __BPFKIT_TCP_FILTER_BPF_H */
