/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPTOP_H
#define __TCPTOP_H

#define TASK_COMM_LEN 16

/* One connection of one process: addresses in network byte order (IPv4
 * in the first 4 bytes), ports in host byte order. */
struct tcptop_key {
	__u8 saddr[16];
	__u8 daddr[16];
	char name[TASK_COMM_LEN];
	__u32 pid;
	__u16 lport;
	__u16 dport;
	__u16 family;
	__u8 pad[6];
};

/* Bytes this interval. */
struct tcptop_traffic {
	__u64 sent;
	__u64 received;
};

#endif /* __TCPTOP_H */
