/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCSNOOP_H
#define __TCSNOOP_H

/* One IPv4 packet seen by the tc program: header fields as the packet
 * carries them, except tot_len in host byte order. */
struct tcsnoop_event {
	__u64 ts_ns;
	__u32 saddr; /* network byte order */
	__u32 daddr; /* network byte order */
	__u32 skb_len;
	__u16 tot_len;
	__u8 ttl;
	__u8 protocol;
};

#endif /* __TCSNOOP_H */
