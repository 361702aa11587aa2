/* SPDX-License-Identifier: GPL-2.0 */
/* gethostlatency — how long name lookups through libc take: a uprobe on
 * getaddrinfo(), gethostbyname() and gethostbyname2() keeps the start time
 * and the name asked for per thread, a uretprobe on the same functions
 * sends the lookup with its latency (as libbpf-tools' gethostlatency).
 * User space finds the libc and attaches both programs to each function.
 *
 * The name is read at the call; if its page is not in memory then (the
 * read fails rather than fault it in), it is read again at the return. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gethostlatency.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ENTRIES 10240

const volatile pid_t target_pid = 0;

struct start {
	__u64 ts;
	const char *name;
	bool have_host;
	struct gethost_event e;
};

/* Thread id → its lookup in progress. LRU: a thread that never returns
 * (longjmp, exit inside a resolver callback) must not pin an entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct gethost_event _gethost_event = {};

/* The per-CPU scratch for a new start (too big for the BPF stack with
 * the event inside). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct start);
} scratch SEC(".maps");

SEC("uprobe")
int BPF_UPROBE(handle_entry, const char *name)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct start *s;

	/* getaddrinfo(NULL, service): no name to look up. */
	if (!name)
		return 0;
	if (target_pid && (pid_t)(id >> 32) != target_pid)
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	s->name = name;
	s->e.pid = id >> 32;
	s->e.tid = tid;
	s->e.lat_ns = 0;
	bpf_get_current_comm(s->e.comm, sizeof(s->e.comm));
	s->have_host = bpf_probe_read_user_str(s->e.host, sizeof(s->e.host), name) > 0;
	s->ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, s, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(handle_return)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct gethost_event *e;
	struct start *s;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (e) {
		__builtin_memcpy(e, &s->e, sizeof(*e));
		e->lat_ns = bpf_ktime_get_ns() - s->ts;
		if (!s->have_host &&
		    bpf_probe_read_user_str(e->host, sizeof(e->host), s->name) <= 0)
			e->host[0] = '\0';
		submit_event(&events, e);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}
