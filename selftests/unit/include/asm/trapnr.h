/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-in for the kernel's <asm/trapnr.h>: the vectors used. */
#ifndef MKVM_UNIT_ASM_TRAPNR_H
#define MKVM_UNIT_ASM_TRAPNR_H

#define X86_TRAP_SS		12
#define X86_TRAP_GP		13
#define X86_TRAP_PF		14

#endif
