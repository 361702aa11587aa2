/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BIOTOP_H
#define __BIOTOP_H

#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)

#define TASK_COMM_LEN 16

/* when a request was issued and its size */
struct start_req_t {
	__u64 ts;
	__u64 data_len;
};

/* who submitted a request */
struct who_t {
	__u32 pid;
	char name[TASK_COMM_LEN];
};

/* the key of a row: process, direction, disk */
struct info_t {
	__u32 pid;
	int rwflag;
	int major;
	int minor;
	char name[TASK_COMM_LEN];
};

/* the row's sums */
struct val_t {
	__u64 bytes;
	__u64 us;
	__u32 io;
};

#endif /* __BIOTOP_H */
