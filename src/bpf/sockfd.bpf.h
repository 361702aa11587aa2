/* SPDX-License-Identifier: GPL-2.0 */
/* A socket found through a file descriptor, for tools whose only hooks are
 * syscall tracepoints (the fd is all they get): the current task's file
 * table gives the struct file (path.bpf.h's task_file), a socket inode
 * marks it as a socket, private_data is its struct socket.
 *
 *     struct file *f = task_file((struct task_struct *)bpf_get_current_task(), fd);
 *     struct sock *sk = file_tcp_sock(f);
 *
 * file_last_reference() says whether the descriptor being closed holds the
 * file's last reference: close(2) then releases the socket (tcp_close()),
 * in this task. */
#ifndef __BPFKIT_SOCKFD_BPF_H
#define __BPFKIT_SOCKFD_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "path.bpf.h"

#ifndef S_IFMT
#define S_IFMT 00170000
#endif
#ifndef S_IFSOCK
#define S_IFSOCK 0140000
#endif
#ifndef SOCK_STREAM
#define SOCK_STREAM 1
#endif

/* The TCP socket (struct sock) of file `f`, or NULL when `f` is no socket,
 * or a socket of another protocol or type (UDP, raw, MPTCP, Unix). */
static __always_inline struct sock *file_tcp_sock(struct file *f)
{
	struct socket *sock;
	struct sock *sk;
	umode_t mode;

	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type) != SOCK_STREAM)
		return NULL;
	return sk;
}

/* struct file's reference count: `f_ref` (file_ref_t, Linux 6.13), whose
 * counter holds references - 1 (FILE_REF_ONEREF is 0), or before it the
 * atomic `f_count`. */
struct file___ref {
	file_ref_t f_ref;
} __attribute__((preserve_access_index));

struct file___count {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* True when `f` has exactly one reference: the descriptor's. */
static __always_inline bool file_last_reference(struct file *f)
{
	struct file___ref *r = (void *)f;

	if (bpf_core_field_exists(r->f_ref))
		return BPF_CORE_READ(r, f_ref.refcnt.counter) == 0;
	return BPF_CORE_READ((struct file___count *)f, f_count.counter) == 1;
}

#endif /* __BPFKIT_SOCKFD_BPF_H */
