/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Block-layer CO-RE helpers shared by the disk tools (biolatency,
 * ...): a request's disk and its kernel dev_t, and the request argument of
 * the block_rq_* tracepoints.
 *
 * Linux 5.17 (d152c682f03c) and 5.16 (f3fa33acca9f) moved the disk from
 * request::rq_disk to request::q->disk; both are declared as CO-RE flavours
 * (libbpf-tools' core_fixes.bpf.h get_disk()). */
#ifndef __BPFKIT_BLK_BPF_H
#define __BPFKIT_BLK_BPF_H

#include <bpf/bpf_core_read.h>

#define BLK_MINORBITS 20
/* The kernel's MKDEV, as /proc/partitions' major:minor (bpfkit::disks::mkdev). */
#define BLK_MKDEV(ma, mi) (((ma) << BLK_MINORBITS) | (mi))

struct request_queue___blk {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request___blk {
	struct request_queue___blk *q;
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* The request's disk (NULL for a request without one). */
static __always_inline struct gendisk *rq_disk(void *rq)
{
	struct request___blk *r = rq;

	if (bpf_core_field_exists(r->rq_disk))
		return BPF_CORE_READ(r, rq_disk);
	return BPF_CORE_READ(r, q, disk);
}

/* The request's disk as the kernel's dev_t (major << 20 | first_minor), 0
 * without a disk. */
static __always_inline __u32 rq_dev(void *rq)
{
	struct gendisk *disk = rq_disk(rq);

	if (!disk)
		return 0;
	return BLK_MKDEV(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor));
}

/* Whether the request's queue has an I/O scheduler (requests then wait in
 * it between block_rq_insert and block_rq_issue). */
static __always_inline bool rq_has_elevator(void *rq)
{
	return BPF_CORE_READ((struct request *)rq, q, elevator) != NULL;
}

/* Set by user space (bpfkit::blk::rq_tracepoints_take_queue): before 5.11
 * (a54895fa) block_rq_insert and block_rq_issue were
 * TP_PROTO(struct request_queue *q, struct request *rq). */
const volatile bool blk_rq_takes_queue = false;

/* The request argument of a block_rq_insert/issue raw or BTF tracepoint. */
static __always_inline void *rq_of_insert_issue(__u64 *ctx)
{
	return (void *)(blk_rq_takes_queue ? ctx[1] : ctx[0]);
}

#endif /* __BPFKIT_BLK_BPF_H */
