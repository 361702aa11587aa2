/* SPDX-License-Identifier: GPL-2.0 */
/* A directory's path, read in BPF from the dentry chain: the directory a
 * relative path starts from (the task's working directory, or the
 * directory an `openat(dirfd, ...)` names), as libbpf-tools' opensnoop -F
 * does for the working directory.
 *
 * Components are stored leaf first, one per slot; user space joins them in
 * reverse with '/'. A walk that needs more than PATH_DEPTH slots stops and
 * says so (`truncated`): user space then shows a path that does not start
 * with '/', never a wrong absolute one. */
#ifndef __BPFKIT_PATH_BPF_H
#define __BPFKIT_PATH_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "path.h"

#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif

enum { WALK_UP, WALK_AT_ROOT, WALK_TOO_DEEP };

/* The struct file of descriptor `fd` of the current task, or NULL. */
static __always_inline struct file *task_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Fills `dir` with the path of the directory relative paths of `dirfd`
 * start from: the working directory for AT_FDCWD, else the file `dirfd`. */
static __always_inline void fill_start_dir(struct dir_path *dir, int dirfd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *dentry, *parent, *mnt_root;
	struct vfsmount *vfsmnt;
	struct mount *mnt, *mnt_parent;
	struct file *f;
	long len;
	int i, j;

	dir->depth = 0;
	dir->truncated = 0;
	dir->failed = 0;
	if (dirfd == AT_FDCWD) {
		dentry = BPF_CORE_READ(task, fs, pwd.dentry);
		vfsmnt = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		f = task_file(task, dirfd);
		if (!f) {
			dir->failed = 1;
			return;
		}
		dentry = BPF_CORE_READ(f, f_path.dentry);
		vfsmnt = BPF_CORE_READ(f, f_path.mnt);
	}
	if (!dentry || !vfsmnt) {
		dir->failed = 1;
		return;
	}
	mnt = container_of(vfsmnt, struct mount, mnt);
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	/* Slot i holds the i-th name up from the leaf: the loop index is the
	 * slot, so every path through the loop keeps the same index and the
	 * verifier's work stays linear in PATH_DEPTH. */
	for (i = 0; i < PATH_DEPTH; i++) {
		int up = WALK_UP;

		/* At the root of a mount: continue from its mount point in the
		 * parent mount (a few stacked mounts at most). */
		for (j = 0; j < PATH_MOUNTS; j++) {
			parent = BPF_CORE_READ(dentry, d_parent);
			if (dentry != mnt_root && dentry != parent)
				break;
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (mnt_parent == mnt) {
				up = WALK_AT_ROOT;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
			up = j + 1 < PATH_MOUNTS ? WALK_UP : WALK_TOO_DEEP;
		}
		if (up == WALK_AT_ROOT) {
			dir->depth = i;
			return;
		}
		if (up == WALK_TOO_DEEP) {
			dir->failed = 1;
			return;
		}
		len = bpf_probe_read_kernel_str(&dir->names[i * PATH_NAME_LEN], PATH_NAME_LEN,
						BPF_CORE_READ(dentry, d_name.name));
		/* A failed read, or a name cut at PATH_NAME_LEN: not this path. */
		if (len < 0 || len >= PATH_NAME_LEN) {
			dir->failed = 1;
			return;
		}
		dentry = parent;
	}
	/* More names than slots: the path is shown without its top. */
	dir->depth = PATH_DEPTH;
	dir->truncated = 1;
}

#endif /* __BPFKIT_PATH_BPF_H */
