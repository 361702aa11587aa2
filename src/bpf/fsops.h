/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The file operations fsslower and fsdist time (libbpf-tools' enum
 * fs_file_op), shared by both. */
#ifndef __FSOPS_H
#define __FSOPS_H

/* Longest file-system type name compared (ext4, xfs, btrfs, nfs, f2fs). */
#define FS_NAME_LEN 16

enum fs_file_op {
	F_READ,
	F_WRITE,
	F_OPEN,
	F_FSYNC,
	F_GETATTR,
	F_MAX_OP,
};

#endif /* __FSOPS_H */
