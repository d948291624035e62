/* SPDX-License-Identifier: GPL-2.0 */
/* Real mode: vmrun loads this at 0x10000 and starts it at 1000:0000. */
#include "uart.h"

	.code16
	.text
	.globl start
start:
	mov	$msg, %si
	UART_PUTS %si
	mov	$EXIT_PORT, %dx
	xor	%al, %al
	out	%al, %dx
	hlt

msg:	.asciz	"Hello from real mode!\n"
