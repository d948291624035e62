/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-in for the kernel's <asm/trap_pf.h>: #PF error code bits. */
#ifndef MKVM_UNIT_ASM_TRAP_PF_H
#define MKVM_UNIT_ASM_TRAP_PF_H

enum x86_pf_error_code {
	X86_PF_PROT	= 1 << 0,
	X86_PF_WRITE	= 1 << 1,
	X86_PF_USER	= 1 << 2,
	X86_PF_RSVD	= 1 << 3,
	X86_PF_INSTR	= 1 << 4,
};

#endif
