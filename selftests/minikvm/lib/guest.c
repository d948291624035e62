// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side support: exception entry stubs and their dispatcher, and the
 * address C guests return to.  All of this runs inside the guest, from
 * the guest's copy of the test binary.
 */
#include "guest.h"
#include "x86.h"

/* The guest's own copy of this table is the one that counts. */
static guest_handler_t guest_handlers[256];

void guest_set_handler(int vector, guest_handler_t handler)
{
	guest_handlers[vector] = handler;
}

void guest_exc_dispatch(struct ex_regs *regs);

/* guest_run_user(): the CPL 0 stack and flags to go back to, and the stack of CPL 3. */
uint64_t guest_user_kernel_rsp, guest_user_kernel_rflags;
uint8_t guest_user_stack[16384] __attribute__((aligned(16)));
extern const char guest_user_resume[];

/* Called by guest_exc_common with the frame it built. */
void guest_exc_dispatch(struct ex_regs *regs)
{
	guest_handler_t handler = guest_handlers[regs->vector & 0xff];

	if (regs->vector == USER_RETURN_VECTOR && (regs->cs & 3) == 3) {
		/* Back to guest_run_user() at CPL 0, RAX the result. */
		regs->rip = (uint64_t)guest_user_resume;
		regs->cs = GDT_CODE64;
		regs->ss = GDT_DATA;
		regs->rsp = guest_user_kernel_rsp;
		regs->rflags = guest_user_kernel_rflags;
		return;
	}
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
	/*
	 * guest_run_user(fn, arg): IRETQ to CPL 3 at the call of fn(arg);
	 * INT USER_RETURN_VECTOR comes back at guest_user_resume.
	 */
	".globl guest_run_user\n"
	"guest_run_user:\n"
	"	push %rbx\n push %rbp\n push %r12\n"
	"	push %r13\n push %r14\n push %r15\n"
	"	mov %rsp, guest_user_kernel_rsp(%rip)\n"
	"	pushfq\n"
	"	pop guest_user_kernel_rflags(%rip)\n"
	"	pushq $" STR(GDT_UDATA) " + 3\n"
	"	lea guest_user_stack + 16384(%rip), %rax\n"
	"	push %rax\n"
	"	pushq $0x3002\n"			/* IOPL 3 */
	"	pushq $" STR(GDT_UCODE64) " + 3\n"
	"	lea guest_user_entry(%rip), %rax\n"
	"	push %rax\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	iretq\n"
	"guest_user_entry:\n"
	"	call *%rax\n"
	"	int $" STR(USER_RETURN_VECTOR) "\n"
	"	ud2\n"
	".globl guest_user_resume\n"
	"guest_user_resume:\n"
	"	pop %r15\n pop %r14\n pop %r13\n"
	"	pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n"
	/* A C guest returning lands here. */
	".globl guest_return\n"
	"guest_return:\n"
	"	mov $" STR(UCALL_DONE) ", %al\n"
	"	out %al, $" UCALL_PORT_S "\n"
	"	hlt\n"
	"	jmp guest_return\n"
	".popsection\n");
