/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __MOUNTSNOOP_H
#define __MOUNTSNOOP_H

#define TASK_COMM_LEN 16
/* libbpf-tools keeps 8 bytes of the filesystem type ("devtmpf"); file
 * system type names are short, but not that short. */
#define FS_NAME_LEN 32
#define DATA_LEN 512
#define MNT_PATH_MAX 4096

enum mount_op {
	MOUNT_OP = 0,
	UMOUNT_OP = 1,
};

struct mount_event {
	__u64 delta_ns; /* time in the syscall */
	__u64 flags;
	__u32 pid;
	__u32 tid;
	__u32 mnt_ns; /* inode number of the caller's mount namespace */
	__s32 ret;
	__u32 op; /* enum mount_op */
	/* Which strings the call passed (bit 0 source, 1 fstype, 2 data):
	 * a NULL pointer is not an empty string. */
	__u32 present;
	char comm[TASK_COMM_LEN];
	char fs[FS_NAME_LEN];
	char src[MNT_PATH_MAX];
	char dest[MNT_PATH_MAX];
	char data[DATA_LEN];
};

#endif /* __MOUNTSNOOP_H */
