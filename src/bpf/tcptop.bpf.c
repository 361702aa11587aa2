/* SPDX-License-Identifier: GPL-2.0 */
/* tcptop: TCP bytes sent and received per process and connection, summed
 * in a hash map that user space drains every interval (as libbpf-tools
 * tcptop).
 *
 * Three sets of programs, one loaded (src/probe.rs picks):
 * - fentry: fexit tcp_sendmsg (its return value: bytes taken) and fentry
 *   tcp_cleanup_rbuf (bytes copied to user space);
 * - kprobe: kprobe + kretprobe tcp_sendmsg (libbpf-tools counts the size
 *   asked for at entry; the return value is what was sent) and kprobe
 *   tcp_cleanup_rbuf, as libbpf-tools;
 * - tracepoint: sock:sock_send_length and sock:sock_recv_length (Linux
 *   6.3+), fired by sock_sendmsg/sock_recvmsg with the result.
 * The traffic map is a preallocated hash; a connection it has no room for
 * is counted in `drops`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcptop.h"
#include "cgroup.bpf.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define MSG_PEEK 2

const volatile __u32 target_pid = 0;
const volatile __u16 target_family = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcptop_key);
	__type(value, struct tcptop_traffic);
} traffic SEC(".maps");

/* kprobe path: the socket of each thread inside tcp_sendmsg. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} sending SEC(".maps");

struct tcptop_key _tcptop_key = {};
struct tcptop_traffic _tcptop_traffic = {};

static __always_inline int count(bool receiving, struct sock *sk, __s64 size)
{
	struct tcptop_key key = {};
	struct tcptop_traffic *t, zero = {};
	__u16 family;
	__u32 pid;

	if (size <= 0 || !sk)
		return 0;
	if (!cgroup_allowed())
		return 0;
	pid = bpf_get_current_pid_tgid() >> 32;
	if (target_pid && target_pid != pid)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (target_family && target_family != family)
		return 0;

	key.pid = pid;
	bpf_get_current_comm(key.name, sizeof(key.name));
	key.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	key.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	key.family = family;
	if (family == AF_INET) {
		bpf_core_read(key.saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(key.daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(key.saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(key.daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}

	t = bpf_map_lookup_elem(&traffic, &key);
	if (!t) {
		if (bpf_map_update_elem(&traffic, &key, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&traffic, &key)) {
			count_drop();
			return 0;
		}
		t = bpf_map_lookup_elem(&traffic, &key);
		if (!t)
			return 0;
	}
	if (receiving)
		__sync_fetch_and_add(&t->received, size);
	else
		__sync_fetch_and_add(&t->sent, size);
	return 0;
}

SEC("fexit/tcp_sendmsg")
int BPF_PROG(tcp_sendmsg_fexit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	return count(false, sk, ret);
}

SEC("fentry/tcp_cleanup_rbuf")
int BPF_PROG(tcp_cleanup_rbuf_fentry, struct sock *sk, int copied)
{
	return count(true, sk, copied);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(tcp_sendmsg_kprobe, struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 s = (__u64)sk;

	bpf_map_update_elem(&sending, &tid, &s, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(tcp_sendmsg_kretprobe, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *s = bpf_map_lookup_elem(&sending, &tid);

	if (!s)
		return 0;
	count(false, (struct sock *)*s, ret);
	bpf_map_delete_elem(&sending, &tid);
	return 0;
}

SEC("kprobe/tcp_cleanup_rbuf")
int BPF_KPROBE(tcp_cleanup_rbuf_kprobe, struct sock *sk, int copied)
{
	return count(true, sk, copied);
}

SEC("tracepoint/sock/sock_send_length")
int sock_send_length(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return count(false, (struct sock *)ctx->sk, ctx->ret);
}

SEC("tracepoint/sock/sock_recv_length")
int sock_recv_length(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || (ctx->flags & MSG_PEEK))
		return 0;
	return count(true, (struct sock *)ctx->sk, ctx->ret);
}
