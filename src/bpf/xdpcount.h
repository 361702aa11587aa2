/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __XDPCOUNT_H
#define __XDPCOUNT_H

/* A source address: IPv4 in the first 4 bytes, network byte order. */
struct xdpcount_key {
	__u8 addr[16];
	__u16 family;
	__u8 pad[6];
};

struct xdpcount_value {
	__u64 packets;
	__u64 bytes;
};

#endif /* __XDPCOUNT_H */
