/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 64-bit long mode, identity-mapped by vmrun's page tables.  Also linked
 * as an ELF file for hello-elf.cfg.
 */
#include "guest.h"

	.code64
	.text
	.globl start
start:
	lea	msg(%rip), %rsi
next:
	movb	(%rsi), %bl
	test	%bl, %bl
	jz	done
	mov	$COM1_LSR, %dx
wait:
	in	%dx, %al
	test	$LSR_THRE, %al
	jz	wait
	mov	$COM1, %dx
	mov	%bl, %al
	out	%al, %dx
	inc	%rsi
	jmp	next
done:
	mov	$EXIT_PORT, %dx
	xor	%eax, %eax
	out	%al, %dx
	hlt

msg:	.asciz	"Hello from 64-bit long mode!\n"
