/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The examples' one print loop, for any mode: UART_PUTS reg writes the
 * NUL-terminated string at (reg) to COM1, each byte once the UART's
 * transmitter is empty, and leaves reg at the NUL.  reg is %si, %esi or
 * %rsi.  Clobbers al, bl and dx.
 */
#ifndef EXAMPLES_UART_H
#define EXAMPLES_UART_H

#include "guest.h"

.macro UART_PUTS reg
.Luart_next\@:
	movb	(\reg), %bl
	test	%bl, %bl
	jz	.Luart_done\@
	mov	$COM1_LSR, %dx
.Luart_wait\@:
	in	%dx, %al
	test	$LSR_THRE, %al
	jz	.Luart_wait\@
	mov	$COM1, %dx
	mov	%bl, %al
	out	%al, %dx
	inc	\reg
	jmp	.Luart_next\@
.Luart_done\@:
.endm

#endif /* EXAMPLES_UART_H */
