/* SPDX-License-Identifier: GPL-2.0 */
/* 32-bit protected mode, flat segments, no paging. */
#include "uart.h"

	.code32
	.text
	.globl start
start:
	mov	$msg, %esi
	UART_PUTS %esi
	mov	$EXIT_PORT, %dx
	xor	%eax, %eax
	out	%eax, %dx
	hlt

msg:	.asciz	"Hello from 32-bit protected mode!\n"
