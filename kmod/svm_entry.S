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

#define REG(n)	((n) * 8)
#define RCX	REG(1)
#define RDX	REG(2)
#define RBX	REG(3)
#define RBP	REG(5)
#define RSI	REG(6)
#define RDI	REG(7)
#define R8	REG(8)
#define R9	REG(9)
#define R10	REG(10)
#define R11	REG(11)
#define R12	REG(12)
#define R13	REG(13)
#define R14	REG(14)
#define R15	REG(15)

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

	/* Host state VMRUN does not save: FS/GS/TR/LDTR, syscall MSRs. */
	mov %rdx, %rax
1:	vmsave %rax
2:
	/* The same state of the guest. */
	mov %rdi, %rax
3:	vmload %rax
4:
	/* Guest GPRs; RSI last, it points at them. */
	mov RCX(%rsi), %rcx
	mov RDX(%rsi), %rdx
	mov RBX(%rsi), %rbx
	mov RBP(%rsi), %rbp
	mov RDI(%rsi), %rdi
	mov R8(%rsi),  %r8
	mov R9(%rsi),  %r9
	mov R10(%rsi), %r10
	mov R11(%rsi), %r11
	mov R12(%rsi), %r12
	mov R13(%rsi), %r13
	mov R14(%rsi), %r14
	mov R15(%rsi), %r15
	mov RSI(%rsi), %rsi

	/* Flush CPU buffers where the kernel asks for it (MDS and friends). */
	VM_CLEAR_CPU_BUFFERS

	/* Run the guest until #VMEXIT; RAX holds the VMCB address. */
5:	vmrun %rax
6:
	/* Save the guest's GPRs; RAX is free (its guest value is in the VMCB). */
	mov STK_REGS(%rsp), %rax
	mov %rcx, RCX(%rax)
	mov %rdx, RDX(%rax)
	mov %rbx, RBX(%rax)
	mov %rbp, RBP(%rax)
	mov %rsi, RSI(%rax)
	mov %rdi, RDI(%rax)
	mov %r8,  R8(%rax)
	mov %r9,  R9(%rax)
	mov %r10, R10(%rax)
	mov %r11, R11(%rax)
	mov %r12, R12(%rax)
	mov %r13, R13(%rax)
	mov %r14, R14(%rax)
	mov %r15, R15(%rax)

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
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebx, %ebx
	xor %ebp, %ebp
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d

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
	_ASM_EXTABLE(1b, 2b)
	_ASM_EXTABLE(3b, 4b)
	_ASM_EXTABLE(5b, 6b)
	_ASM_EXTABLE(7b, 8b)
	_ASM_EXTABLE(9b, 10b)
SYM_FUNC_END(mkvm_svm_enter)
