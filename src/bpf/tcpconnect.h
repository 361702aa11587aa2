/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPCONNECT_H
#define __TCPCONNECT_H

#define TASK_COMM_LEN 16

/* One active TCP open: connect() got as far as sending the SYN. Addresses
 * in network byte order (IPv4 in the first 4 bytes), ports in host byte
 * order; ts_us is when the connect began (bpf_ktime_get_ns). */
struct tcpconnect_event {
	__u64 ts_us;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
	__u32 pid;
	__u32 uid;
	__u16 af;
	__u16 sport;
	__u16 dport;
	__u8 pad[2];
};

/* `-c`: what connects are counted by (value: __u64 count). sport stays 0
 * unless `-s` asked to count per source port. */
struct tcpconnect_flow {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 af;
	__u16 sport;
	__u16 dport;
	__u8 pad[2];
};

#endif /* __TCPCONNECT_H */
