/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SVM world switch: one entry point, called by svm_vcpu_run() with
 * interrupts disabled and GIF = 0.
 *
 *	void mkvm_svm_enter(u64 vmcb_pa, u64 *regs, u64 host_save_pa);
 *
 * @regs holds the guest's GPRs in x86 encoding order (see emulate.h);
 * RAX and RSP live in the VMCB and are switched by VMRUN itself.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include "entry_gprs.inc"

/* The stack after the prologue: what we need back after #VMEXIT. */
#define STK_VMCB	0
#define STK_REGS	8
#define STK_HOST	16

.section .noinstr.text, "ax"

SYM_FUNC_START(mkvm_svm_enter)
	/* Callee-saved registers: the guest is about to own them. */
	push %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdx
	push %rsi
	push %rdi

	/*
	 * Host state VMRUN does not save (FS/GS/TR/LDTR, syscall MSRs) is
	 * in @host_save already (svm_vcpu_run(), once per vCPU load); the
	 * same state of the guest.
	 */
	mov %rdi, %rax
3:	vmload %rax
4:
	/* Guest GPRs; RSI last, it points at them. */
	MKVM_LOAD_GUEST_GPRS %rsi, MKVM_RSI

	/* Flush CPU buffers where the kernel asks for it (MDS and friends). */
	VM_CLEAR_CPU_BUFFERS

	/* Run the guest until #VMEXIT; RAX holds the VMCB address. */
5:	vmrun %rax
6:
	/* Save the guest's GPRs; RAX is free (its guest value is in the VMCB). */
	mov STK_REGS(%rsp), %rax
	MKVM_SAVE_GUEST_GPRS %rax

	/* The guest's FS/GS/TR/... back to its VMCB, the host's back. */
	mov STK_VMCB(%rsp), %rax
7:	vmsave %rax
8:
	mov STK_HOST(%rsp), %rax
9:	vmload %rax
10:

#if defined(CONFIG_RETPOLINE) || defined(CONFIG_MITIGATION_RETPOLINE)
	/* Refill the return stack before any RET: it holds guest entries. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE
#endif
	/* Untrain RET (Retbleed, SRSO) and IBPB where the kernel asks. */
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT
#endif

	/* No guest value may linger in a register the host uses. */
	MKVM_CLEAR_GUEST_GPRS
	xor %ebx, %ebx
	xor %ebp, %ebp

	add $24, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

	/*
	 * A fault here means SVM was switched off under us (emergency
	 * reboot): carry on; the caller sees the VMCB's SVM_EXIT_ERR.
	 */
	_ASM_EXTABLE(3b, 4b)
	_ASM_EXTABLE(5b, 6b)
	_ASM_EXTABLE(7b, 8b)
	_ASM_EXTABLE(9b, 10b)
SYM_FUNC_END(mkvm_svm_enter)
