/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPTRACER_H
#define __TCPTRACER_H

#define TASK_COMM_LEN 16

/* What a tcptracer event is (the table's T column: C, A, X). */
enum {
	TCPTRACER_CONNECT = 0,
	TCPTRACER_ACCEPT = 1,
	TCPTRACER_CLOSE = 2,
};

/* One connect (established), accept or close of a TCP socket: the task
 * that made it and the socket's ends. Addresses in network byte order
 * (IPv4 in the first 4 bytes), ports in host byte order; saddr/sport are
 * the socket's local end. ts_us: bpf_ktime_get_ns() / 1000 at the event. */
struct tcptracer_event {
	__u64 ts_us;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
	__u32 pid;
	__u32 uid;
	__u16 af;
	__u16 sport;
	__u16 dport;
	__u8 kind; /* TCPTRACER_CONNECT, _ACCEPT or _CLOSE */
	__u8 pad;
};

/* A connect waiting for its handshake: who called connect(). */
struct tcptracer_ident {
	char comm[TASK_COMM_LEN];
	__u32 pid;
	__u32 uid;
};

#endif /* __TCPTRACER_H */
