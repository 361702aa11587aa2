/* SPDX-License-Identifier: GPL-2.0 */
/* filelife — files created and deleted while tracing (libbpf-tools'
 * filelife): the creation time of each new file's dentry, by dentry; an
 * unlink of one of them that succeeds is an event with its age.
 *
 * Creation is seen at vfs_create, at vfs_open of a file the open created
 * (FMODE_CREATED) and at security_inode_create, as libbpf-tools; the
 * unlink at vfs_unlink's entry (the dentry) and return (the result),
 * with kprobes and a kretprobe as libbpf-tools (fentry programs failed
 * the verifier on 6.12 and were left out). There is no tracepoint set: no tracepoint names the file an unlink
 * removes (unlinkat's carries a path the kernel resolves later, through
 * symlinks, mounts and concurrent renames), so user space refuses to run
 * without one of these two. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "filelife.h"
#include "drops.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/fs.h */
#define FMODE_CREATED 0x100000

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Creation time by dentry; LRU: a creation never unlinked (the file
 * stays, or the creation failed after security_inode_create) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

/* An unlink in flight, by thread: its dentry and the file's age. */
struct unlink_state {
	__u64 dentry;
	__u64 delta_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct unlink_state);
} inflight SEC(".maps");

struct filelife_event _filelife_event = {};

/* Since 5.12 vfs_create and vfs_unlink take a user namespace (later an
 * idmap) first: the dentry is then their third argument, not the second. */
struct renamedata___userns {
	void *old_mnt_userns;
} __attribute__((preserve_access_index));

struct renamedata___idmap {
	void *new_mnt_idmap;
} __attribute__((preserve_access_index));

struct renamedata___one_idmap {
	void *mnt_idmap;
} __attribute__((preserve_access_index));

static __always_inline bool has_ns_arg(void)
{
	return bpf_core_field_exists(struct renamedata___userns, old_mnt_userns) ||
	       bpf_core_field_exists(struct renamedata___idmap, new_mnt_idmap) ||
	       bpf_core_field_exists(struct renamedata___one_idmap, mnt_idmap);
}

static __always_inline int probe_create(void *dentry)
{
	__u64 key = (__u64)dentry;
	__u64 ts = bpf_ktime_get_ns();

	if (targ_tgid && targ_tgid != (pid_t)(bpf_get_current_pid_tgid() >> 32))
		return 0;
	bpf_map_update_elem(&start, &key, &ts, BPF_ANY);
	return 0;
}

static __always_inline int probe_open(struct path *path, struct file *file)
{
	if (!(BPF_CORE_READ(file, f_mode) & FMODE_CREATED))
		return 0;
	return probe_create(BPF_CORE_READ(path, dentry));
}

static __always_inline int unlink_entry(void *dentry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 key = (__u64)dentry;
	struct unlink_state st = { .dentry = key };
	__u64 *ts = bpf_map_lookup_elem(&start, &key);

	if (!ts)
		return 0;
	st.delta_ns = bpf_ktime_get_ns() - *ts;
	if (bpf_map_update_elem(&inflight, &tid, &st, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int unlink_return(int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct unlink_state *st = bpf_map_lookup_elem(&inflight, &tid);
	struct filelife_event *e;
	struct dentry *dentry;
	__u64 key;

	if (!st)
		return 0;
	key = st->dentry;
	/* A failed unlink leaves the file: not an event (libbpf-tools too). */
	if (ret)
		goto out;
	e = reserve_or_count(&events, sizeof(*e));
	if (!e)
		goto out;
	dentry = (struct dentry *)key;
	e->delta_ns = st->delta_ns;
	e->pid = id >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(dentry, d_name.name)) < 0)
		e->name[0] = '\0';
	submit_event(&events, e);
	bpf_map_delete_elem(&start, &key);
out:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

SEC("kprobe/vfs_create")
int BPF_KPROBE(kprobe_vfs_create, void *arg0, void *arg1, void *arg2)
{
	return probe_create(has_ns_arg() ? arg2 : arg1);
}

SEC("kprobe/vfs_open")
int BPF_KPROBE(kprobe_vfs_open, struct path *path, struct file *file)
{
	return probe_open(path, file);
}

SEC("kprobe/security_inode_create")
int BPF_KPROBE(kprobe_security_inode_create, struct inode *dir, struct dentry *dentry)
{
	return probe_create(dentry);
}

SEC("kprobe/vfs_unlink")
int BPF_KPROBE(kprobe_vfs_unlink, void *arg0, void *arg1, void *arg2)
{
	return unlink_entry(has_ns_arg() ? arg2 : arg1);
}

SEC("kretprobe/vfs_unlink")
int BPF_KRETPROBE(kretprobe_vfs_unlink, int ret)
{
	return unlink_return(ret);
}
