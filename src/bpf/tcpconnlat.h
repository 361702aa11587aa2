/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPCONNLAT_H
#define __TCPCONNLAT_H

#define TASK_COMM_LEN 16

/* One completed active open (connect → handshake done). Addresses are in
 * network byte order: an IPv4 address fills the first 4 bytes. Ports are in
 * host byte order. */
struct tcpconnlat_event {
	__u64 delta_us;
	__u64 ts_us;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
	__u32 tgid;
	__u16 af;
	__u16 lport;
	__u16 dport;
	__u8 pad[6];
};

#endif /* __TCPCONNLAT_H */
