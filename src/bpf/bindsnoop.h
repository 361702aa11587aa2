/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BINDSNOOP_H
#define __BINDSNOOP_H

#define TASK_COMM_LEN 16

/* libbpf-tools' OPTS letters, bit i of bind_event.opts: F T N R r. */
#define BIND_OPT_FREEBIND 0x01
#define BIND_OPT_TRANSPARENT 0x02
#define BIND_OPT_BIND_ADDRESS_NO_PORT 0x04
#define BIND_OPT_REUSEADDR 0x08
#define BIND_OPT_REUSEPORT 0x10

/* One bind() on an IPv4 or IPv6 socket. A successful bind carries the
 * address and port the socket got (the port the kernel picked for port 0);
 * a failed one (-x) the address and port asked for. addr in network byte
 * order (IPv4 in its first 4 bytes), port in host byte order. */
struct bind_event {
	__u8 addr[16];
	__u64 ts_us;
	__u32 pid;
	__u32 bound_dev_if;
	__s32 ret;
	__u16 port;
	__u16 proto;
	__u8 opts;
	__u8 ver;
	char comm[TASK_COMM_LEN];
	__u8 pad[6];
};

#endif /* __BINDSNOOP_H */
