/* SPDX-License-Identifier: GPL-2.0 */
/* Says so, then spins forever: for stopping a guest with Ctrl-C. */
	.code64
	.text
	.globl start
start:
	mov	$0x8000, %rsp
	lea	msg(%rip), %rsi
	call	puts
	sti
1:	jmp	1b

msg:	.asciz	"looping forever: stop me with Ctrl-C\n"
