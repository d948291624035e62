/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every vCPU starts here (long mode) with RDI = its index and RSI = the
 * vCPU count.  Each prints its id under a spinlock and counts itself in;
 * vCPU 0 waits for all of them, then powers off.  The others halt.
 */
#include "guest.h"

#define STACKS	0x100000		/* 4K of stack per vCPU from here */

	.code64
	.text
	.globl start
start:
	/*
	 * Spin with IF set, as loop.S does: nothing injects interrupts, and
	 * Bochs never turns the host's timer into a VM exit while a nested
	 * guest spins with IF clear (testing.rst), so on one host CPU the
	 * vCPU holding the lock would never run again.
	 */
	sti
	mov	%rdi, %r12		/* our index */
	mov	%rsi, %r13		/* vCPU count */
	lea	1(%rdi), %rsp
	shl	$12, %rsp
	add	$STACKS, %rsp

1:	mov	$1, %eax
	xchg	%eax, lock(%rip)
	test	%eax, %eax
	jz	2f
	pause
	jmp	1b
2:	lea	msg_vcpu(%rip), %rsi
	call	puts
	mov	%r12, %rax
	call	putdec
	lea	msg_of(%rip), %rsi
	call	puts
	mov	%r13, %rax
	call	putdec
	lea	msg_up(%rip), %rsi
	call	puts
	movl	$0, lock(%rip)
	lock incl up(%rip)

	test	%r12, %r12
	jnz	park
3:	cmp	up(%rip), %r13d
	je	4f
	pause
	jmp	3b
4:	lea	msg_all(%rip), %rsi
	call	puts
	mov	%r13, %rax
	call	putdec
	lea	msg_all_up(%rip), %rsi
	call	puts
	xor	%eax, %eax
	call	poweroff

park:	cli
	hlt
	jmp	park

	.balign	4
lock:	.long	0
up:	.long	0
msg_vcpu:	.asciz	"vCPU "
msg_of:		.asciz	" of "
msg_up:		.asciz	" is up\n"
msg_all:	.asciz	"all "
msg_all_up:	.asciz	" vCPUs are up\n"
