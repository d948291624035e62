/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Powers off with status 42, which vmrun exits with: through the exit
 * device's MMIO register (the other examples use its port).
 */
#include "guest.h"

	.code64
	.text
	.globl start
start:
	mov	$0x8000, %rsp
	lea	msg(%rip), %rsi
	call	puts
	mov	$EXIT_MMIO, %ebx
	movl	$42, (%rbx)
	hlt

msg:	.asciz	"exiting with status 42\n"
