/* SPDX-License-Identifier: GPL-2.0 */
/* bashreadline — lesson 5 (uprobe): the command lines bash reads.
 *
 * The tutorial hard-codes SEC("uretprobe//bin/bash:readline") and prints with
 * bpf_printk. Here the section carries no target: user space resolves where
 * readline() lives (bash itself, the libreadline bash links, or -s PATH) and
 * attaches this uretprobe there; the line goes out through a ring buffer.
 *
 * The comm check: libbpf-tools only reports tasks named exactly "bash",
 * because a probe in a shared libreadline also fires in python, gdb, psql...
 * We keep that check for a shared library (only_bash, set by user space),
 * but not when the probe sits in the bash executable itself: there only bash
 * processes can hit it, whatever name they were started under (rbash, a
 * symlink, exec -a). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bashreadline.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool only_bash = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct readline_event _readline_event = {};

static __always_inline bool is_bash(const char *comm)
{
	return comm[0] == 'b' && comm[1] == 'a' && comm[2] == 's' && comm[3] == 'h' &&
	       comm[4] == '\0';
}

SEC("uretprobe")
int BPF_URETPROBE(printret, const void *ret)
{
	struct readline_event *e;
	char comm[TASK_COMM_LEN];

	/* NULL: end of input (Ctrl-D), not a line. */
	if (!ret)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
	if (only_bash && !is_bash(comm))
		return 0;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		return 0;
	if (bpf_probe_read_user_str(e->line, sizeof(e->line), ret) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	submit_event(&events, e);
	return 0;
}
