/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lesson 16: memleak — outstanding allocations and the stacks that made
 * them.
 *
 * User mode (-p PID / -c CMD): uprobes on the allocator entry points of
 * libc (or -O OBJ) remember the requested size per thread, the uretprobes
 * pair it with the returned address and record {size, time, stack id} in
 * `allocs`; the free side deletes the entry. Per-stack totals are kept in
 * `combined_allocs` for -C. User space attaches the uprobes by function
 * name (they are SEC("uprobe"), never auto-attached). Where the kernel has
 * uprobe_multi (6.6+), two programs instead serve every function (the
 * attach cookie says which), attached as two links: detaching them at exit
 * waits for the kernel once per link, not once per function.
 *
 * Kernel mode (no pid): the kmem/percpu tracepoints. Their context structs
 * changed over the years (kmem_alloc split into kmalloc and
 * kmem_cache_alloc in 6.0, kmem_free split into kfree and kmem_cache_free
 * in 5.12), so every field is read through CO-RE with a local "___x" type
 * per layout, chosen by bpf_core_type_exists(). Tracepoints this kernel
 * lacks (kmalloc_node...) have their programs' autoload turned off by user
 * space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "memleak.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 min_size = 0;
const volatile __u64 max_size = (__u64)-1;
const volatile __u64 page_size = 4096;
const volatile __u64 sample_rate = 1;
const volatile bool trace_all = false;
const volatile __u64 stack_flags = 0;
const volatile bool wa_missing_free = false;

/* Size requested at entry, per thread, until the allocator returns. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALLOCS_MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct alloc_info);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COMBINED_ALLOCS_MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct combined_alloc_info);
} combined_allocs SEC(".maps");

/* posix_memalign's out-pointer, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} memptrs SEC(".maps");

/* Value size (stack depth) and entries are set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 10240);
} stack_traces SEC(".maps");

/* For the skeleton's Rust types. */
struct alloc_info _alloc_info = {};
struct combined_alloc_info _combined_alloc_info = {};

static const struct combined_alloc_info zero_cinfo;

static __always_inline void stats_add(__s64 stack_id, __u64 size)
{
	__u64 key = (__u64)stack_id;
	struct combined_alloc_info *c;

	c = bpf_map_lookup_elem(&combined_allocs, &key);
	if (!c) {
		bpf_map_update_elem(&combined_allocs, &key, &zero_cinfo, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&combined_allocs, &key);
		if (!c)
			return;
	}
	__sync_fetch_and_add(&c->total_size, size);
	__sync_fetch_and_add(&c->number_of_allocs, 1);
}

static __always_inline void stats_del(__s64 stack_id, __u64 size)
{
	__u64 key = (__u64)stack_id;
	struct combined_alloc_info *c;

	c = bpf_map_lookup_elem(&combined_allocs, &key);
	if (!c)
		return;
	__sync_fetch_and_add(&c->total_size, -size);
	__sync_fetch_and_add(&c->number_of_allocs, -1);
}

/* Whether an allocation of `size` is traced (size bounds, sampling). */
static __always_inline bool wanted(__u64 size)
{
	if (size < min_size || size > max_size)
		return false;
	if (sample_rate > 1 && bpf_ktime_get_ns() % sample_rate != 0)
		return false;
	return true;
}

/* Records a successful allocation of `size` bytes at `address`. */
static __always_inline int record_alloc(void *ctx, __u64 size, __u64 address)
{
	struct alloc_info info = {};

	if (address == 0 || address == (__u64)-1)
		return 0;
	info.size = size;
	info.timestamp_ns = bpf_ktime_get_ns();
	info.stack_id = bpf_get_stackid(ctx, &stack_traces, stack_flags);
	bpf_map_update_elem(&allocs, &address, &info, BPF_ANY);
	stats_add(info.stack_id, size);
	if (trace_all)
		bpf_printk("alloc exited, size = %lu, result = %lx", size, address);
	return 0;
}

static __always_inline int alloc_enter(__u64 size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!wanted(size))
		return 0;
	bpf_map_update_elem(&sizes, &tid, &size, BPF_ANY);
	if (trace_all)
		bpf_printk("alloc entered, size = %lu", size);
	return 0;
}

static __always_inline int alloc_exit2(void *ctx, __u64 address)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *sizep, size;

	sizep = bpf_map_lookup_elem(&sizes, &tid);
	if (!sizep)
		return 0; /* entry not seen, or filtered out */
	size = *sizep;
	bpf_map_delete_elem(&sizes, &tid);
	return record_alloc(ctx, size, address);
}

static __always_inline int alloc_exit(struct pt_regs *ctx)
{
	return alloc_exit2(ctx, PT_REGS_RC(ctx));
}

static __always_inline int record_free(__u64 address)
{
	struct alloc_info *info;
	__u64 size;
	__s64 stack_id;

	info = bpf_map_lookup_elem(&allocs, &address);
	if (!info)
		return 0;
	size = info->size;
	stack_id = info->stack_id;
	bpf_map_delete_elem(&allocs, &address);
	stats_del(stack_id, size);
	if (trace_all)
		bpf_printk("free entered, address = %lx, size = %lu", address, size);
	return 0;
}

/* ---- user space allocators (uprobes, attached by name) ---- */

static __always_inline int posix_memalign_enter2(void *memptr, __u64 size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 p = (__u64)memptr;

	bpf_map_update_elem(&memptrs, &tid, &p, BPF_ANY);
	return alloc_enter(size);
}

static __always_inline int posix_memalign_exit2(void *ctx, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *memptr, addr = 0;

	memptr = bpf_map_lookup_elem(&memptrs, &tid);
	if (!memptr)
		return 0;
	if (ret != 0 ||
	    bpf_probe_read_user(&addr, sizeof(addr), (void *)*memptr) != 0)
		addr = 0;
	bpf_map_delete_elem(&memptrs, &tid);
	/* Called even on failure: it clears the thread's pending size. */
	return alloc_exit2(ctx, addr);
}


SEC("uprobe")
int BPF_UPROBE(malloc_enter, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe")
int BPF_URETPROBE(malloc_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(free_enter, void *address)
{
	return record_free((__u64)address);
}

SEC("uprobe")
int BPF_UPROBE(calloc_enter, size_t nmemb, size_t size)
{
	return alloc_enter((__u64)nmemb * size);
}

SEC("uretprobe")
int BPF_URETPROBE(calloc_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(realloc_enter, void *ptr, size_t size)
{
	record_free((__u64)ptr);
	return alloc_enter(size);
}

SEC("uretprobe")
int BPF_URETPROBE(realloc_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(mmap_enter, void *addr, size_t length)
{
	return alloc_enter(length);
}

SEC("uretprobe")
int BPF_URETPROBE(mmap_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(mremap_enter, void *old_address, size_t old_size, size_t new_size)
{
	record_free((__u64)old_address);
	return alloc_enter(new_size);
}

SEC("uretprobe")
int BPF_URETPROBE(mremap_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(munmap_enter, void *address)
{
	return record_free((__u64)address);
}

SEC("uprobe")
int BPF_UPROBE(posix_memalign_enter, void **memptr, size_t alignment, size_t size)
{
	return posix_memalign_enter2(memptr, size);
}

SEC("uretprobe")
int BPF_URETPROBE(posix_memalign_exit, int ret)
{
	return posix_memalign_exit2(ctx, ret);
}

SEC("uprobe")
int BPF_UPROBE(aligned_alloc_enter, size_t alignment, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe")
int BPF_URETPROBE(aligned_alloc_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(valloc_enter, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe")
int BPF_URETPROBE(valloc_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(memalign_enter, size_t alignment, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe")
int BPF_URETPROBE(memalign_exit)
{
	return alloc_exit(ctx);
}

SEC("uprobe")
int BPF_UPROBE(pvalloc_enter, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe")
int BPF_URETPROBE(pvalloc_exit)
{
	return alloc_exit(ctx);
}

/* ---- the same, as two uprobe_multi programs ---- */

SEC("uprobe.multi")
int alloc_multi_enter(struct pt_regs *ctx)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);

	switch (bpf_get_attach_cookie(ctx)) {
	case FN_MALLOC:
	case FN_VALLOC:
	case FN_PVALLOC:
		return alloc_enter(a1);
	case FN_CALLOC:
		return alloc_enter(a1 * a2);
	case FN_REALLOC:
		record_free(a1);
		return alloc_enter(a2);
	case FN_MMAP:
	case FN_MEMALIGN:
	case FN_ALIGNED_ALLOC:
		return alloc_enter(a2);
	case FN_MREMAP:
		record_free(a1);
		return alloc_enter(a3);
	case FN_FREE:
	case FN_MUNMAP:
		return record_free(a1);
	case FN_POSIX_MEMALIGN:
		return posix_memalign_enter2((void *)a1, a3);
	}
	return 0;
}

SEC("uretprobe.multi")
int alloc_multi_exit(struct pt_regs *ctx)
{
	if (bpf_get_attach_cookie(ctx) == FN_POSIX_MEMALIGN)
		return posix_memalign_exit2(ctx, (int)PT_REGS_RC(ctx));
	return alloc_exit(ctx);
}

/* ---- kernel allocators (tracepoints) ---- */

/* The layouts, by the names each kernel generation gave them. Only the
 * fields read are declared; CO-RE finds their offsets. */
struct trace_event_raw_kmem_alloc___x { /* kmalloc, kmem_cache_alloc < 6.0 */
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmalloc___x { /* kmalloc >= 6.0 */
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_cache_alloc___x { /* kmem_cache_alloc >= 6.0 */
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_alloc_node___x { /* *_node < 6.0 */
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_free___x { /* kfree, kmem_cache_free < 5.12 */
	const void *ptr;
} __attribute__((preserve_access_index));

struct trace_event_raw_kfree___x { /* kfree >= 5.12 */
	const void *ptr;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_cache_free___x { /* kmem_cache_free >= 5.12 */
	const void *ptr;
} __attribute__((preserve_access_index));

struct trace_event_raw_mm_page_alloc___x {
	unsigned long pfn;
	unsigned int order;
} __attribute__((preserve_access_index));

struct trace_event_raw_mm_page_free___x {
	unsigned long pfn;
} __attribute__((preserve_access_index));

struct trace_event_raw_percpu_alloc_percpu___x {
	size_t size;
	void *ptr;
} __attribute__((preserve_access_index));

struct trace_event_raw_percpu_free_percpu___x {
	void *ptr;
} __attribute__((preserve_access_index));

/* An allocation seen in one tracepoint: enter and exit at once. */
static __always_inline int kernel_alloc(void *ctx, __u64 size, __u64 address)
{
	if (wa_missing_free)
		record_free(address);
	if (!wanted(size))
		return 0;
	return record_alloc(ctx, size, address);
}

/* kmalloc and kmem_cache_alloc share one layout before 6.0. */
static __always_inline int kmem_alloc_old(void *ctx)
{
	struct trace_event_raw_kmem_alloc___x *args = ctx;

	return kernel_alloc(ctx, BPF_CORE_READ(args, bytes_alloc),
			    (__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/kmalloc")
int memleak__kmalloc(void *ctx)
{
	struct trace_event_raw_kmalloc___x *args = ctx;

	if (bpf_core_type_exists(struct trace_event_raw_kmem_alloc___x))
		return kmem_alloc_old(ctx);
	return kernel_alloc(ctx, BPF_CORE_READ(args, bytes_alloc),
			    (__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/kmem_cache_alloc")
int memleak__kmem_cache_alloc(void *ctx)
{
	struct trace_event_raw_kmem_cache_alloc___x *args = ctx;

	if (bpf_core_type_exists(struct trace_event_raw_kmem_alloc___x))
		return kmem_alloc_old(ctx);
	return kernel_alloc(ctx, BPF_CORE_READ(args, bytes_alloc),
			    (__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/kmalloc_node")
int memleak__kmalloc_node(void *ctx)
{
	struct trace_event_raw_kmem_alloc_node___x *args = ctx;

	return kernel_alloc(ctx, BPF_CORE_READ(args, bytes_alloc),
			    (__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/kmem_cache_alloc_node")
int memleak__kmem_cache_alloc_node(void *ctx)
{
	struct trace_event_raw_kmem_alloc_node___x *args = ctx;

	return kernel_alloc(ctx, BPF_CORE_READ(args, bytes_alloc),
			    (__u64)BPF_CORE_READ(args, ptr));
}

static __always_inline int kmem_free_old(void *ctx)
{
	struct trace_event_raw_kmem_free___x *args = ctx;

	return record_free((__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/kfree")
int memleak__kfree(void *ctx)
{
	struct trace_event_raw_kfree___x *args = ctx;

	if (!bpf_core_type_exists(struct trace_event_raw_kfree___x))
		return kmem_free_old(ctx);
	return record_free((__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/kmem_cache_free")
int memleak__kmem_cache_free(void *ctx)
{
	struct trace_event_raw_kmem_cache_free___x *args = ctx;

	if (!bpf_core_type_exists(struct trace_event_raw_kmem_cache_free___x))
		return kmem_free_old(ctx);
	return record_free((__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/kmem/mm_page_alloc")
int memleak__mm_page_alloc(void *ctx)
{
	struct trace_event_raw_mm_page_alloc___x *args = ctx;
	unsigned int order = BPF_CORE_READ(args, order);

	/* A failed allocation reports pfn -1, which record_alloc skips. */
	return kernel_alloc(ctx, page_size << (order & 63), BPF_CORE_READ(args, pfn));
}

SEC("tracepoint/kmem/mm_page_free")
int memleak__mm_page_free(void *ctx)
{
	struct trace_event_raw_mm_page_free___x *args = ctx;

	return record_free(BPF_CORE_READ(args, pfn));
}

SEC("tracepoint/percpu/percpu_alloc_percpu")
int memleak__percpu_alloc_percpu(void *ctx)
{
	struct trace_event_raw_percpu_alloc_percpu___x *args = ctx;

	return kernel_alloc(ctx, BPF_CORE_READ(args, size), (__u64)BPF_CORE_READ(args, ptr));
}

SEC("tracepoint/percpu/percpu_free_percpu")
int memleak__percpu_free_percpu(void *ctx)
{
	struct trace_event_raw_percpu_free_percpu___x *args = ctx;

	return record_free((__u64)BPF_CORE_READ(args, ptr));
}
