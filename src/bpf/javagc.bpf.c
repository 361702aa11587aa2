/* SPDX-License-Identifier: GPL-2.0 */
/* javagc — lesson 15 (USDT): how long the JVM's garbage collections take.
 *
 * HotSpot (built with DTrace probes, as Debian's OpenJDK is) fires
 * hotspot:gc__begin(is_full) / gc__end around every collection and
 * hotspot:mem__pool__gc__begin / _end(manager, manager_len, pool, pool_len,
 * ...) around each memory pool's part of it. User space attaches the four
 * SEC("usdt") programs below to the libjvm.so of one process.
 *
 * The tutorial (and libbpf-tools) key the start time by pid alone, so the
 * per-pool probes, which nest inside gc__begin/gc__end, overwrite and delete
 * the whole collection's start time and gc__end then finds nothing. Here the
 * key is (pid, kind, pool): whole collections and each pool are timed
 * separately. Events go through a ring buffer instead of a perf buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "javagc.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Report only collections longer than this (ns); libbpf-tools' -t. */
const volatile __u64 min_ns = 0;

struct gc_key {
	__u32 pid;
	__u32 kind;
	__u64 pool; /* address of the pool's name: stable for the JVM's lifetime */
};

struct gc_start {
	__u64 ts;
	__u32 full;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct gc_key);
	__type(value, struct gc_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct gc_event _gc_event = {};

static __always_inline int begin(struct gc_key *key, __u32 full)
{
	struct gc_start start = { .ts = bpf_ktime_get_ns(), .full = full };

	bpf_map_update_elem(&starts, key, &start, BPF_ANY);
	return 0;
}

/* A (pointer, length) string argument of a HotSpot probe: not NUL-terminated. */
static __always_inline void read_name(char *dst, long ptr, long len)
{
	if (len < 0)
		len = 0;
	if (len > GC_NAME_LEN - 1)
		len = GC_NAME_LEN - 1;
	if (bpf_probe_read_user(dst, len & (GC_NAME_LEN - 1), (const void *)ptr) < 0)
		len = 0;
	dst[len & (GC_NAME_LEN - 1)] = '\0';
}

static __always_inline struct gc_event *end(struct gc_key *key)
{
	struct gc_start *start;
	struct gc_event *e = NULL;
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();

	start = bpf_map_lookup_elem(&starts, key);
	if (!start)
		return NULL;
	if (now - start->ts > min_ns) {
		e = reserve_or_count(&events, sizeof(*e));
		if (e) {
			e->duration_ns = now - start->ts;
			e->cpu = bpf_get_smp_processor_id();
			e->pid = id >> 32;
			e->tid = (__u32)id;
			e->kind = key->kind;
			e->full = start->full;
			e->_pad = 0;
			e->manager[0] = '\0';
			e->pool[0] = '\0';
		}
	}
	bpf_map_delete_elem(&starts, key);
	return e;
}

SEC("usdt")
int BPF_USDT(handle_gc_start, long is_full)
{
	struct gc_key key = { .pid = bpf_get_current_pid_tgid() >> 32, .kind = GC_KIND_GC };

	return begin(&key, is_full & 1);
}

SEC("usdt")
int BPF_USDT(handle_gc_end)
{
	struct gc_key key = { .pid = bpf_get_current_pid_tgid() >> 32, .kind = GC_KIND_GC };
	struct gc_event *e = end(&key);

	if (e)
		submit_event(&events, e);
	return 0;
}

SEC("usdt")
int BPF_USDT(handle_mem_pool_gc_start, long manager, long manager_len, long pool)
{
	struct gc_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.kind = GC_KIND_MEM_POOL,
		.pool = pool,
	};

	return begin(&key, 0);
}

SEC("usdt")
int BPF_USDT(handle_mem_pool_gc_end, long manager, long manager_len, long pool, long pool_len)
{
	struct gc_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.kind = GC_KIND_MEM_POOL,
		.pool = pool,
	};
	struct gc_event *e = end(&key);

	if (!e)
		return 0;
	read_name(e->manager, manager, manager_len);
	read_name(e->pool, pool, pool_len);
	submit_event(&events, e);
	return 0;
}
