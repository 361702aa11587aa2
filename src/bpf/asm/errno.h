/* SPDX-License-Identifier: GPL-2.0 */
/* <bpf/usdt.bpf.h> includes <linux/errno.h>, which includes <asm/errno.h>:
 * a header of the multiarch directory (/usr/include/x86_64-linux-gnu), which
 * clang does not search for -target bpf. errno numbers are the generic ones
 * on every architecture bpfkit builds for (x86_64, arm64). */
#include <asm-generic/errno.h>
