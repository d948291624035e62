/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 64-bit long mode, identity-mapped by vmrun's page tables.  Also linked
 * as an ELF file for hello-elf.cfg.
 */
#include "uart.h"

	.code64
	.text
	.globl start
start:
	lea	msg(%rip), %rsi
	UART_PUTS %rsi
	mov	$EXIT_PORT, %dx
	xor	%eax, %eax
	out	%al, %dx
	hlt

msg:	.asciz	"Hello from 64-bit long mode!\n"
