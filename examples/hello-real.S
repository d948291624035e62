/* SPDX-License-Identifier: GPL-2.0 */
/* Real mode: vmrun loads this at 0x10000 and starts it at 1000:0000. */
#include "guest.h"

	.code16
	.text
	.globl start
start:
	mov	$msg, %si
next:
	movb	(%si), %bl
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
	inc	%si
	jmp	next
done:
	mov	$EXIT_PORT, %dx
	xor	%al, %al
	out	%al, %dx
	hlt

msg:	.asciz	"Hello from real mode!\n"
