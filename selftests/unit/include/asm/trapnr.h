/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-in for the kernel's <asm/trapnr.h>: the vectors used. */
#ifndef MKVM_UNIT_ASM_TRAPNR_H
#define MKVM_UNIT_ASM_TRAPNR_H

#define X86_TRAP_DE		0
#define X86_TRAP_DB		1
#define X86_TRAP_BP		3
#define X86_TRAP_UD		6
#define X86_TRAP_DF		8
#define X86_TRAP_TS		10
#define X86_TRAP_NP		11
#define X86_TRAP_SS		12
#define X86_TRAP_GP		13
#define X86_TRAP_PF		14

#endif
