/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host stand-in for the kernel's <linux/types.h>, for the unit tests of
 * kmod/emulate.c: the uapi header plus the kernel's short type names.
 *
 * The stand-ins in this directory shadow only what the kernel has and
 * userspace lacks.  <linux/errno.h> and <asm/processor-flags.h> are the
 * host's uapi headers, whose values are the kernel's.
 */
#ifndef MKVM_UNIT_LINUX_TYPES_H
#define MKVM_UNIT_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#endif
