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

#endif /* __MEMLEAK_H */
