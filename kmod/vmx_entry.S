/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX world switch: one entry point, called by vmx_vcpu_run() with
 * interrupts disabled and the vCPU's VMCS current on this CPU.
 *
 *	int mkvm_vmx_enter(u64 *regs, bool launched);
 *
 * @regs holds the guest's GPRs in x86 encoding order (see emulate.h);
 * RSP lives in the VMCS (GUEST_RSP) and is switched by the CPU, so
 * regs[4] is neither loaded nor stored here.  VMRESUME if @launched,
 * else VMLAUNCH.  Returns 0 after a VM exit (the CPU continues at
 * mkvm_vmx_exit, with RSP as written into HOST_RSP here), 1 if the
 * instruction failed (VMfailValid/VMfailInvalid) or faulted.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

/* asm/vmx.h is C only: the field encoding, checked in vmx.c. */
#define VMCS_HOST_RSP	0x6c14

#define REG(n)	((n) * 8)
#define RAX	REG(0)
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

.section .noinstr.text, "ax"

SYM_FUNC_START(mkvm_vmx_enter)
	/* Callee-saved registers: the guest is about to own them. */
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	/* @regs, found at the top of the stack after the exit. */
	push %rdi

	/* The exit comes back with this stack. */
	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	jna .Lfail

	/* CF = @launched; nothing below touches CF until the jump. */
	bt $0, %esi

	/* Guest GPRs; RAX last, it points at them. */
	mov %rdi, %rax
	mov RCX(%rax), %rcx
	mov RDX(%rax), %rdx
	mov RBX(%rax), %rbx
	mov RBP(%rax), %rbp
	mov RSI(%rax), %rsi
	mov RDI(%rax), %rdi
	mov R8(%rax),  %r8
	mov R9(%rax),  %r9
	mov R10(%rax), %r10
	mov R11(%rax), %r11
	mov R12(%rax), %r12
	mov R13(%rax), %r13
	mov R14(%rax), %r14
	mov R15(%rax), %r15
	mov RAX(%rax), %rax

	/* Flush CPU buffers where the kernel asks for it (MDS); clobbers ZF. */
	VM_CLEAR_CPU_BUFFERS

	jnc .Llaunch

	/* On success the CPU continues at mkvm_vmx_exit, not below. */
	UNWIND_HINT_SAVE
.Lresume:
	vmresume
	jmp .Lfail
.Llaunch:
	vmlaunch
	jmp .Lfail

	/* VMX switched off under us (emergency reboot): a failed entry. */
	_ASM_EXTABLE(.Lresume, .Lfail)
	_ASM_EXTABLE(.Llaunch, .Lfail)

SYM_INNER_LABEL(mkvm_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	/* Save the guest's GPRs; its RAX goes through the stack. */
	push %rax
	mov 8(%rsp), %rax
	pop RAX(%rax)
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
	xor %ebx, %ebx			/* the return value: a VM exit */
	jmp .Lout

.Lfail:
	mov $1, %ebx

.Lout:
	/* Refill the return stack before any RET: it holds guest entries. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT
	CLEAR_BRANCH_HISTORY_VMEXIT

	/* No guest value may linger in a register the host uses. */
	xor %ecx, %ecx
	xor %edx, %edx
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

	mov %ebx, %eax
	add $8, %rsp			/* @regs */
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(mkvm_vmx_enter)
