// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side support: exception entry stubs and their dispatcher, and the
 * address C guests return to.  All of this runs inside the guest, from
 * the guest's copy of the test binary.
 */
#include "guest.h"

/* The guest's own copy of this table is the one that counts. */
static guest_handler_t guest_handlers[256];

void guest_set_handler(int vector, guest_handler_t handler)
{
	guest_handlers[vector] = handler;
}

void guest_exc_dispatch(struct ex_regs *regs);

/* Called by guest_exc_common with the frame it built. */
void guest_exc_dispatch(struct ex_regs *regs)
{
	guest_handler_t handler = guest_handlers[regs->vector & 0xff];

	if (handler) {
		handler(regs);
		return;
	}
	ucall(UCALL_UNHANDLED, regs->vector, regs->error_code, regs->rip, 0);
	/* The host does not resume an unhandled exception. */
	for (;;)
		asm volatile("hlt");
}

/*
 * 256 stubs of 16 bytes: the vectors where the CPU pushes no error code
 * (all but #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC and #SX) push a
 * zero, so that every frame looks the same, then the vector.
 * guest_exc_common saves the GPRs, calls guest_exc_dispatch() on the
 * frame (the IST stack is 16-byte aligned and the frame is 176 bytes, so
 * the call is ABI-aligned) and returns with IRETQ.
 */
asm(".pushsection .text\n"
	".balign 16\n"
	".globl guest_exc_stubs\n"
	"guest_exc_stubs:\n"
	"vector = 0\n"
	".rept 256\n"
	"	.balign 16\n"
	"	.if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)\n"
	"	.else\n"
	"	pushq $0\n"
	"	.endif\n"
	"	pushq $vector\n"
	"	jmp guest_exc_common\n"
	"	vector = vector + 1\n"
	".endr\n"
	"guest_exc_common:\n"
	"	push %r15\n push %r14\n push %r13\n push %r12\n"
	"	push %r11\n push %r10\n push %r9\n push %r8\n"
	"	push %rbp\n push %rdi\n push %rsi\n push %rdx\n"
	"	push %rcx\n push %rbx\n push %rax\n"
	"	mov %rsp, %rdi\n"
	"	cld\n"
	"	call guest_exc_dispatch\n"
	"	pop %rax\n pop %rbx\n pop %rcx\n pop %rdx\n"
	"	pop %rsi\n pop %rdi\n pop %rbp\n pop %r8\n"
	"	pop %r9\n pop %r10\n pop %r11\n pop %r12\n"
	"	pop %r13\n pop %r14\n pop %r15\n"
	"	add $16, %rsp\n"
	"	iretq\n"
	/* A C guest returning lands here. */
	".globl guest_return\n"
	"guest_return:\n"
	"	mov $" STR(UCALL_DONE) ", %al\n"
	"	out %al, $" UCALL_PORT_S "\n"
	"	hlt\n"
	"	jmp guest_return\n"
	".popsection\n");
