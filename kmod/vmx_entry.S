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
#include "entry_gprs.inc"

/* asm/vmx.h is C only: the field encoding, checked in vmx.c. */
#define VMCS_HOST_RSP	0x6c14

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
	MKVM_LOAD_GUEST_GPRS %rax, MKVM_RAX

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
	pop MKVM_RAX(%rax)
	MKVM_SAVE_GUEST_GPRS %rax
	xor %ebx, %ebx			/* the return value: a VM exit */
	jmp .Lout

.Lfail:
	mov $1, %ebx

.Lout:
	/*
	 * Refill the return stack before any RET: it holds guest entries.
	 * With eIBRS only one entry is needed, against PBRSB (a RET right
	 * after the exit may use the guest's last CALL), as the kernel asks.
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
	CLEAR_BRANCH_HISTORY_VMEXIT

	/* No guest value may linger in a register the host uses. */
	MKVM_CLEAR_GUEST_GPRS
	xor %ebp, %ebp

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
