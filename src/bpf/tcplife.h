/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPLIFE_H
#define __TCPLIFE_H

#define TASK_COMM_LEN 16

/* Who a socket belongs to: the task that connected it (SYN_SENT) or
 * closed it passively (LAST_ACK). */
struct tcplife_ident {
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

/* One TCP session, reported when it reaches CLOSE. Addresses in network
 * byte order (IPv4 in the first 4 bytes), ports in host byte order;
 * span_us from its first state below FIN_WAIT1 to CLOSE; tx_b is
 * tcp_sock.bytes_acked, rx_b tcp_sock.bytes_received. */
struct tcplife_event {
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 ts_us;
	__u64 span_us;
	__u64 rx_b;
	__u64 tx_b;
	char comm[TASK_COMM_LEN];
	__u32 pid;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 pad[6];
};

#endif /* __TCPLIFE_H */
