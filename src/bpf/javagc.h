/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __JAVAGC_H
#define __JAVAGC_H

#define GC_NAME_LEN 64

/* kind: which probe pair timed the event */
#define GC_KIND_GC 0	   /* hotspot:gc__begin / gc__end: a whole collection */
#define GC_KIND_MEM_POOL 1 /* hotspot:mem__pool__gc__begin / _end: one pool's part */

struct gc_event {
	__u64 duration_ns;
	__u32 cpu;
	__u32 pid;
	__u32 tid;
	__u32 kind;
	__u32 full; /* gc__begin's is_full argument (GC_KIND_GC only) */
	__u32 _pad;
	char manager[GC_NAME_LEN]; /* "G1 Young Generation" (GC_KIND_MEM_POOL) */
	char pool[GC_NAME_LEN];    /* "G1 Eden Space" (GC_KIND_MEM_POOL) */
};

#endif /* __JAVAGC_H */
