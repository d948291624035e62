/* SPDX-License-Identifier: GPL-2.0 */
/* 32-bit protected mode, flat segments, no paging. */
#include "guest.h"

	.code32
	.text
	.globl start
start:
	mov	$msg, %esi
next:
	movb	(%esi), %bl
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
	inc	%esi
	jmp	next
done:
	mov	$EXIT_PORT, %dx
	xor	%eax, %eax
	out	%eax, %dx
	hlt

msg:	.asciz	"Hello from 32-bit protected mode!\n"
