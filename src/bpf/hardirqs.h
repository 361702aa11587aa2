/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __HARDIRQS_H
#define __HARDIRQS_H

/* log2 slots: the last one (2^19 us, half a second) also holds longer times. */
#define MAX_SLOTS 20
/* Handler names (irqaction->name) are short: "virtio1-req.0", "ahci[0000:00:1f.2]". */
#define IRQ_NAME_LEN 32

/* One entry per handler name. */
struct irq_key {
	char name[IRQ_NAME_LEN];
};

struct info {
	__u64 count;	/* handler runs */
	__u64 total;	/* time in the handler, us (ns with -N); 0 with -C */
	__u64 max;	/* longest run, same unit */
	__u64 slots[MAX_SLOTS];	/* log2 histogram of run times, with -d */
};

#endif /* __HARDIRQS_H */
