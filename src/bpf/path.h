/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A directory path read from the dentry chain (path.bpf.h). */
#ifndef __BPFKIT_PATH_H
#define __BPFKIT_PATH_H

/* Slots for path components (a power of two: the index is masked). */
#define PATH_DEPTH 16
/* Mounts stacked on one directory that the walk crosses at most. */
#define PATH_MOUNTS 4
/* Bytes per component: longer names are cut (NAME_MAX is 255). */
#define PATH_NAME_LEN 128

struct dir_path {
	__u32 depth;
	__u8 truncated;
	__u8 failed;
	__u8 _pad[2];
	/* Component i at names[i * PATH_NAME_LEN], NUL-terminated. */
	char names[PATH_DEPTH * PATH_NAME_LEN];
};

#endif /* __BPFKIT_PATH_H */
