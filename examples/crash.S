/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Says so, then executes UD2 with no IDT: #UD, then #DF, then a triple
 * fault, which vmrun reports with the vCPU's registers.
 */
	.code64
	.text
	.globl start
start:
	mov	$0x8000, %rsp
	lea	msg(%rip), %rsi
	call	puts
	mov	$0xdeadbeef, %rax
	ud2

msg:	.asciz	"about to triple fault\n"
