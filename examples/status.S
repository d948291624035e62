/* SPDX-License-Identifier: GPL-2.0 */
/* Powers off with status 42: vmrun exits with it. */
	.code64
	.text
	.globl start
start:
	mov	$0x8000, %rsp
	lea	msg(%rip), %rsi
	call	puts
	mov	$42, %eax
	call	poweroff

msg:	.asciz	"exiting with status 42\n"
