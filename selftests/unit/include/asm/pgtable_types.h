/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-in for the kernel's <asm/pgtable_types.h> (x86-64 values). */
#ifndef MKVM_UNIT_ASM_PGTABLE_TYPES_H
#define MKVM_UNIT_ASM_PGTABLE_TYPES_H

#include <linux/bits.h>

#define _PAGE_PRESENT		BIT_ULL(0)
#define _PAGE_RW		BIT_ULL(1)
#define _PAGE_USER		BIT_ULL(2)
#define _PAGE_PSE		BIT_ULL(7)
#define _PAGE_NX		BIT_ULL(63)

#endif
