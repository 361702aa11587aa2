/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lesson 1 ("minimal"): every write(2), optionally of one process.
 * The tutorial prints with bpf_printk; we send the fields through a ring
 * buffer so the tool prints them itself. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "minimal.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile pid_t pid_filter = 0;
/* The tool's own pid: printing an event is a write(2), which must not
 * produce another event (a feedback loop on a terminal). */
const volatile pid_t self_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Gives the skeleton a Rust definition of the event struct. */
struct minimal_event _minimal_event = {};

SEC("tp/syscalls/sys_enter_write")
int handle_tp(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	pid_t pid = id >> 32;
	struct minimal_event *e;

	if (pid_filter && pid != pid_filter)
		return 0;
	if (pid == self_pid)
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	e->pid = pid;
	e->tid = (__u32)id;
	e->fd = (__s32)ctx->args[0];
	e->count = (__s64)ctx->args[2];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	submit_event(&events, e);
	return 0;
}
