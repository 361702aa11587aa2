/* SPDX-License-Identifier: GPL-2.0 */
/* The disk of a block request, on every kernel (CO-RE):
 *
 * - before 5.17 (commit f3fa33acca9f, "block: remove the ->rq_disk field in
 *   struct request") the request pointed at its disk itself, rq->rq_disk;
 * - since, the disk hangs off the queue, rq->q->disk (commit d152c682f03c).
 *
 * As libbpf-tools' core_fixes.bpf.h get_disk(). rq_dev() gives the kernel
 * dev_t of the whole disk (MKDEV(major, first_minor), what /proc/partitions
 * lists for it and user space's disks.rs computes). */
#ifndef __BPFKIT_BLK_BPF_H
#define __BPFKIT_BLK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

#define BLK_MINORBITS 20
#define BLK_MKDEV(ma, mi) (((__u32)(ma) << BLK_MINORBITS) | (__u32)(mi))

struct request_queue___blk_x {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request___blk_x {
	struct request_queue___blk_x *q;
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *rq_disk(void *request)
{
	struct request___blk_x *r = request;

	if (bpf_core_field_exists(r->rq_disk))
		return BPF_CORE_READ(r, rq_disk);
	return BPF_CORE_READ(r, q, disk);
}

/* The whole disk's dev_t; 0 for a request without a disk. */
static __always_inline __u32 rq_dev(void *request)
{
	struct gendisk *disk = rq_disk(request);

	if (!disk)
		return 0;
	return BLK_MKDEV(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor));
}

#endif /* __BPFKIT_BLK_BPF_H */
