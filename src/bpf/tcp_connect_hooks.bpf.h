/* SPDX-License-Identifier: GPL-2.0 */
/* The tcp_v4_connect/tcp_v6_connect hooks of the tools that see active
 * opens through those functions (tcpconnect, tcptracer): fexit, whose
 * program has the socket and the result at once, and kprobe + kretprobe
 * (libbpf-tools), whose entry keeps the socket per thread in `sockets` for
 * the return. Both end in the including file's
 *
 *     static void connect_returned(struct sock *sk, int ret, __u16 af);
 *
 * called once tcp_v*_connect of family `af` returned `ret` for `sk`, and
 * the kprobe entry keeps only the connects of tasks its
 * `static bool task_allowed(void)` lets through. Both are defined before
 * this file is included. */
#ifndef __BPFKIT_TCP_CONNECT_HOOKS_BPF_H
#define __BPFKIT_TCP_CONNECT_HOOKS_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* kprobe: thread id → the socket tcp_v*_connect was called with. LRU: a
 * missed return must not pin an entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} sockets SEC(".maps");

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_tcp_v4_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len,
	     int ret)
{
	connect_returned(sk, ret, AF_INET);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_tcp_v6_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len,
	     int ret)
{
	connect_returned(sk, ret, AF_INET6);
	return 0;
}

static __always_inline int connect_entered(struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 skp = (__u64)sk;

	if (task_allowed())
		bpf_map_update_elem(&sockets, &tid, &skp, BPF_ANY);
	return 0;
}

static __always_inline int connect_kretprobe(int ret, __u16 af)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sock *sk;
	__u64 *skp;

	skp = bpf_map_lookup_elem(&sockets, &tid);
	if (!skp)
		return 0;
	sk = (struct sock *)*skp;
	/* v4-mapped: leave the entry to tcp_v6_connect's return. */
	if (BPF_CORE_READ(sk, __sk_common.skc_family) != af)
		return 0;
	bpf_map_delete_elem(&sockets, &tid);
	connect_returned(sk, ret, af);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk)
{
	return connect_entered(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_tcp_v4_connect, int ret)
{
	return connect_kretprobe(ret, AF_INET);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk)
{
	return connect_entered(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_tcp_v6_connect, int ret)
{
	return connect_kretprobe(ret, AF_INET6);
}

#endif /* __BPFKIT_TCP_CONNECT_HOOKS_BPF_H */
