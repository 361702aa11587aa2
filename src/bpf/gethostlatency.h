/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __GETHOSTLATENCY_H
#define __GETHOSTLATENCY_H

#define TASK_COMM_LEN 16
#define HOST_LEN 80

/* One lookup through getaddrinfo/gethostbyname/gethostbyname2: lat_ns
 * from the call to its return, in the calling thread. */
struct gethost_event {
	__u64 lat_ns;
	__u32 pid;
	__u32 tid;
	char comm[TASK_COMM_LEN];
	char host[HOST_LEN];
};

#endif /* __GETHOSTLATENCY_H */
