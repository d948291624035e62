/* SPDX-License-Identifier: GPL-2.0 */
/* Long-mode helpers for the other examples: puts, putdec, poweroff. */
#include "uart.h"

	.code64
	.text

/* puts: print the string at %rsi.  Clobbers rax, rbx, rdx, rsi. */
	.globl puts
puts:
	UART_PUTS %rsi
	ret

/* putdec: print %rax in decimal.  Clobbers rax, rbx, rcx, rdx, rsi. */
	.globl putdec
putdec:
	sub	$32, %rsp
	lea	31(%rsp), %rsi
	movb	$0, (%rsi)
	mov	$10, %rcx
1:	xor	%edx, %edx
	div	%rcx
	add	$'0', %dl
	dec	%rsi
	mov	%dl, (%rsi)
	test	%rax, %rax
	jnz	1b
	call	puts
	add	$32, %rsp
	ret

/* poweroff: end the guest with status %al. */
	.globl poweroff
poweroff:
	mov	$EXIT_PORT, %dx
	out	%al, %dx
	hlt
	jmp	poweroff
