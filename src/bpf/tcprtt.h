/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPRTT_H
#define __TCPRTT_H

/* log2 slots: 2^26 us (67 s) is the last bucket, as in libbpf-tools. */
#define MAX_SLOTS 27

/* Histogram key: the local (-b) or remote (-B) address, all zero otherwise.
 * IPv4 addresses use the first 4 bytes of addr (network order). */
struct hist_key {
	__u16 family;
	__u8 pad[2];
	__u8 addr[16];
};

struct hist {
	__u64 latency;	/* sum of srtt, with -e */
	__u64 cnt;	/* samples in latency, with -e */
	__u64 slots[MAX_SLOTS];
};

#endif /* __TCPRTT_H */
