/* SPDX-License-Identifier: GPL-2.0 */
/* The `-c CGROUP_PATH` filter shared by the scheduler and interrupt tools
 * (runqlat, runqslower, hardirqs, softirqs, ...), as libbpf-tools do it:
 * user space opens the cgroup v2 directory and stores its fd at key 0 of
 * `cgroup_map` (bpfkit::cgroup::Filter) and sets `filter_cg`; the BPF
 * programs then count only tasks under that cgroup (or its descendants).
 *
 *     #include "cgroup.bpf.h"
 *     ...
 *     if (!cgroup_allowed())
 *             return 0;
 *
 * bpf_current_task_under_cgroup() tests the *current* task, so call it
 * where the task of interest is running (e.g. in sched_switch for the
 * task switched in). */
#ifndef __BPFKIT_CGROUP_BPF_H
#define __BPFKIT_CGROUP_BPF_H

#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

/* Set from `-c`: only count tasks in the cgroup stored in cgroup_map. */
const volatile bool filter_cg = false;

/* True when no cgroup filter is set, or the current task is in the cgroup
 * (or below it). */
static __always_inline bool cgroup_allowed(void)
{
	if (!filter_cg)
		return true;
	return bpf_current_task_under_cgroup(&cgroup_map, 0) == 1;
}

#endif /* __BPFKIT_CGROUP_BPF_H */
