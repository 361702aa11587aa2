/* SPDX-License-Identifier: GPL-2.0 */
/* bindsnoop — bind() on IPv4 and IPv6 sockets: who bound which socket
 * (protocol, socket options, device) to which address and port, and the
 * result (as libbpf-tools' bindsnoop).
 *
 * Three program sets; user space loads exactly one (probe::select_programs):
 *
 *  - fexit inet_bind/inet6_bind: socket, asked-for address and result in
 *    one program.
 *  - kprobe + kretprobe (libbpf-tools): the entry keeps the socket and a
 *    copy of the asked-for address per thread, the return reads them.
 *  - tracepoints syscalls:sys_enter_bind/sys_exit_bind, for kernels without
 *    kprobes or fentry: the entry keeps the fd and a copy of the user's
 *    sockaddr per thread; the exit finds the struct socket through the
 *    task's file table (a file whose inode is a socket; private_data is
 *    its struct socket) and keeps only IPv4/IPv6 sockets. Binds the kernel
 *    does for itself (kernel_bind) make no syscall: only the kernel-function
 *    mechanisms see them.
 *
 * After a successful bind the socket holds the address and port it got (the
 * port the kernel chose for port 0); a failed bind leaves them unset (0 in
 * libbpf-tools' rows), so a failed bind is reported with what it asked
 * for, from the sockaddr. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "bindsnoop.h"
#include "drops.bpf.h"
#include "cgroup.bpf.h"
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MAX_ENTRIES 10240
#define MAX_PORTS 64
/* sizeof(struct sockaddr_in6): the longest address kept. */
#define SOCKADDR_LEN 28

const volatile pid_t target_pid = 0;
const volatile bool ignore_errors = true; /* without -x: successful binds only */
const volatile bool filter_by_port = false;

/* -P's ports (host byte order; value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u16);
	__type(value, __u16);
} ports SEC(".maps");

/* What the entry of a bind saw, for its return. */
struct bind_args {
	__u64 sock; /* kprobe: struct socket * */
	__s32 fd;   /* tracepoint: the socket's descriptor */
	__u32 addrlen;
	__u8 addr[SOCKADDR_LEN];
	__u8 pad[4];
};

/* Thread id → its bind in progress. LRU: a missed return must not pin an
 * entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct bind_args);
} binds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct bind_event _bind_event = {};

/* Before Linux 6.6 (commit 4bd0623f04ee "inet: move inet->freebind to
 * inet->inet_flags") these options were bitfields of struct inet_sock;
 * since then they are bits of inet_flags (as libbpf-tools' core_fixes). */
struct inet_sock___o {
	__u8 freebind : 1;
	__u8 transparent : 1;
	__u8 bind_address_no_port : 1;
} __attribute__((preserve_access_index));

struct inet_sock___x {
	unsigned long inet_flags;
} __attribute__((preserve_access_index));

enum {
	INET_FLAGS_FREEBIND___x = 11,
	INET_FLAGS_TRANSPARENT___x = 15,
	INET_FLAGS_BIND_ADDRESS_NO_PORT___x = 18,
};

static __always_inline __u8 inet_opts(void *inet)
{
	struct inet_sock___o *o = inet;
	unsigned long flags;
	__u8 opts = 0;

	if (bpf_core_field_exists(o->freebind)) {
		if (BPF_CORE_READ_BITFIELD_PROBED(o, freebind))
			opts |= BIND_OPT_FREEBIND;
		if (BPF_CORE_READ_BITFIELD_PROBED(o, transparent))
			opts |= BIND_OPT_TRANSPARENT;
		if (BPF_CORE_READ_BITFIELD_PROBED(o, bind_address_no_port))
			opts |= BIND_OPT_BIND_ADDRESS_NO_PORT;
		return opts;
	}
	flags = BPF_CORE_READ((struct inet_sock___x *)inet, inet_flags);
	if (flags & (1UL << INET_FLAGS_FREEBIND___x))
		opts |= BIND_OPT_FREEBIND;
	if (flags & (1UL << INET_FLAGS_TRANSPARENT___x))
		opts |= BIND_OPT_TRANSPARENT;
	if (flags & (1UL << INET_FLAGS_BIND_ADDRESS_NO_PORT___x))
		opts |= BIND_OPT_BIND_ADDRESS_NO_PORT;
	return opts;
}

/* -p and -c, in the binding task. */
static __always_inline bool task_allowed(void)
{
	if (target_pid && (pid_t)(bpf_get_current_pid_tgid() >> 32) != target_pid)
		return false;
	return cgroup_allowed();
}

/* bind() on `sock` returned `ret`; `req` is a copy of the sockaddr asked
 * for (`addrlen` bytes of it valid). */
static __always_inline void report(struct socket *sock, const __u8 *req, __u32 addrlen, int ret)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct bind_event *e;
	__u16 family, port;
	__u8 opts;

	if (!sk || (ignore_errors && ret != 0))
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return;
	if (ret == 0)
		port = BPF_CORE_READ(sk, __sk_common.skc_num);
	else
		port = addrlen >= 4 ? bpf_ntohs(*(__u16 *)(req + 2)) : 0;
	if (filter_by_port && !bpf_map_lookup_elem(&ports, &port))
		return;
	opts = inet_opts(sk);
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse))
		opts |= BIND_OPT_REUSEADDR;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuseport))
		opts |= BIND_OPT_REUSEPORT;

	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (family == AF_INET) {
		e->ver = 4;
		if (ret == 0) {
			__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

			__builtin_memcpy(e->addr, &a, 4);
		} else if (addrlen >= 8) {
			__builtin_memcpy(e->addr, req + 4, 4);
		}
	} else {
		e->ver = 6;
		if (ret == 0)
			BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_rcv_saddr);
		else if (addrlen >= 24)
			__builtin_memcpy(e->addr, req + 8, 16);
	}
	e->ts_us = bpf_ktime_get_ns() / 1000;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	e->ret = ret;
	e->port = port;
	e->proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	e->opts = opts;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	submit_event(&events, e);
}

static __always_inline long read_mem(void *dst, __u32 size, const void *src, bool user)
{
	return user ? bpf_probe_read_user(dst, size, src) : bpf_probe_read_kernel(dst, size, src);
}

/* The sockaddr asked for (kernel or user memory) into `dst`; returns how
 * many of its bytes are valid (at most SOCKADDR_LEN). Constant sizes only:
 * the whole sockaddr_in6 size, or a sockaddr_in's where memory ends sooner. */
static __always_inline __u32 copy_sockaddr(__u8 *dst, const void *src, int addrlen, bool user)
{
	__u32 len = addrlen < 0 ? 0 : addrlen;

	if (!src || !len)
		return 0;
	if (read_mem(dst, SOCKADDR_LEN, src, user) == 0)
		return len < SOCKADDR_LEN ? len : SOCKADDR_LEN;
	if (read_mem(dst, 16, src, user) == 0)
		return len < 16 ? len : 16;
	return 0;
}

/* ---- fexit: inet_bind/inet6_bind ---- */

static __always_inline int bind_returned(struct socket *sock, const void *uaddr, int addrlen,
					 int ret)
{
	__u8 req[SOCKADDR_LEN] = {};
	__u32 len;

	if (!task_allowed())
		return 0;
	len = copy_sockaddr(req, uaddr, addrlen, false);
	report(sock, req, len, ret);
	return 0;
}

SEC("fexit/inet_bind")
int BPF_PROG(fexit_inet_bind, struct socket *sock, void *uaddr, int addrlen, int ret)
{
	return bind_returned(sock, uaddr, addrlen, ret);
}

SEC("fexit/inet6_bind")
int BPF_PROG(fexit_inet6_bind, struct socket *sock, void *uaddr, int addrlen, int ret)
{
	return bind_returned(sock, uaddr, addrlen, ret);
}

/* ---- kprobe + kretprobe (libbpf-tools) ---- */

static __always_inline int bind_entered(struct socket *sock, const void *uaddr, int addrlen)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bind_args a = {};

	if (!task_allowed())
		return 0;
	a.sock = (__u64)sock;
	a.addrlen = copy_sockaddr(a.addr, uaddr, addrlen, false);
	bpf_map_update_elem(&binds, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int bind_kretprobe(int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bind_args *a = bpf_map_lookup_elem(&binds, &tid);

	if (!a)
		return 0;
	report((struct socket *)a->sock, a->addr, a->addrlen, ret);
	bpf_map_delete_elem(&binds, &tid);
	return 0;
}

SEC("kprobe/inet_bind")
int BPF_KPROBE(kprobe_inet_bind, struct socket *sock, void *uaddr, int addrlen)
{
	return bind_entered(sock, uaddr, addrlen);
}

SEC("kretprobe/inet_bind")
int BPF_KRETPROBE(kretprobe_inet_bind, int ret)
{
	return bind_kretprobe(ret);
}

SEC("kprobe/inet6_bind")
int BPF_KPROBE(kprobe_inet6_bind, struct socket *sock, void *uaddr, int addrlen)
{
	return bind_entered(sock, uaddr, addrlen);
}

SEC("kretprobe/inet6_bind")
int BPF_KRETPROBE(kretprobe_inet6_bind, int ret)
{
	return bind_kretprobe(ret);
}

/* ---- tracepoints: syscalls:sys_enter_bind/sys_exit_bind ---- */

SEC("tracepoint/syscalls/sys_enter_bind")
int tp_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bind_args a = {};

	if (!task_allowed())
		return 0;
	a.fd = (__s32)ctx->args[0];
	a.addrlen = copy_sockaddr(a.addr, (const void *)ctx->args[1], (int)ctx->args[2], true);
	bpf_map_update_elem(&binds, &tid, &a, BPF_ANY);
	return 0;
}

/* The struct socket of descriptor `fd` of the current task, or NULL when
 * it is no socket. */
static __always_inline struct socket *fd_socket(int fd)
{
	struct file *f = task_file((struct task_struct *)bpf_get_current_task(), fd);
	umode_t mode;

	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

SEC("tracepoint/syscalls/sys_exit_bind")
int tp_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bind_args *a = bpf_map_lookup_elem(&binds, &tid);
	struct socket *sock;

	if (!a)
		return 0;
	sock = fd_socket(a->fd);
	if (sock)
		report(sock, a->addr, a->addrlen, (int)ctx->ret);
	bpf_map_delete_elem(&binds, &tid);
	return 0;
}
