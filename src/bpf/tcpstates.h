/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPSTATES_H
#define __TCPSTATES_H

#define TASK_COMM_LEN 16

/* One TCP state change. Addresses in network byte order (IPv4 in the first
 * 4 bytes), ports in host byte order; delta_us is the time spent in
 * oldstate (0 when this socket's previous change was not seen). */
struct tcpstates_event {
	__u64 skaddr;
	__u64 ts_us;
	__u64 delta_us;
	__u8 saddr[16];
	__u8 daddr[16];
	char task[TASK_COMM_LEN];
	__u32 pid;
	__s32 oldstate;
	__s32 newstate;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 pad[6];
};

#endif /* __TCPSTATES_H */
