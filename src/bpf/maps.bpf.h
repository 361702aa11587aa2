/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers shared by the histogram tools (as libbpf-tools' maps.bpf.h). */
#ifndef __BPFKIT_MAPS_BPF_H
#define __BPFKIT_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

#ifndef EEXIST
#define EEXIST 17
#endif

/* The value at `key`, inserting `init` first when there is none. Another
 * CPU may insert the same key at the same time: that is fine (BPF_NOEXIST
 * then fails with -EEXIST and the lookup finds its entry). NULL only when
 * the map is full. */
static __always_inline void *bpf_map_lookup_or_try_init(void *map, const void *key,
							  const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;

	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return 0;

	return bpf_map_lookup_elem(map, key);
}

#endif /* __BPFKIT_MAPS_BPF_H */
