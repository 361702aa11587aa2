/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __MEMLEAK_H
#define __MEMLEAK_H

#define ALLOCS_MAX_ENTRIES 1000000
#define COMBINED_ALLOCS_MAX_ENTRIES 10240

/* One outstanding allocation: the value of `allocs`, keyed by address
 * (or page frame number for mm_page_alloc). */
struct alloc_info {
	__u64 size;
	__u64 timestamp_ns;
	/* bpf_get_stackid() result: a stack id, or a negative errno. */
	__s64 stack_id;
};

/* Outstanding bytes and allocations per stack: the value of
 * `combined_allocs`, keyed by (u64) stack id. */
struct combined_alloc_info {
	__u64 total_size;
	__u64 number_of_allocs;
};

/* The attach cookie of the uprobe_multi programs: which allocator function
 * fired. The order of memleak's UPROBES table, from 1. */
#define FN_MALLOC 1
#define FN_CALLOC 2
#define FN_REALLOC 3
#define FN_FREE 4
#define FN_MMAP 5
#define FN_MREMAP 6
#define FN_MUNMAP 7
#define FN_POSIX_MEMALIGN 8
#define FN_MEMALIGN 9
#define FN_VALLOC 10
#define FN_PVALLOC 11
#define FN_ALIGNED_ALLOC 12

#endif /* __MEMLEAK_H */
