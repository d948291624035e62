/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-in for the kernel's <asm/msr-index.h>: the EFER bits used. */
#ifndef MKVM_UNIT_ASM_MSR_INDEX_H
#define MKVM_UNIT_ASM_MSR_INDEX_H

#include <linux/bits.h>

#define EFER_LMA		BIT(10)		/* long mode active */
#define EFER_NX			BIT(11)		/* no-execute enable */

#endif
