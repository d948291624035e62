/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-in for the kernel's <linux/kernel.h>: what emulate.c uses. */
#ifndef MKVM_UNIT_LINUX_KERNEL_H
#define MKVM_UNIT_LINUX_KERNEL_H

#include_next <linux/kernel.h>

#define ARRAY_SIZE(arr)		(sizeof(arr) / sizeof((arr)[0]))

#endif
