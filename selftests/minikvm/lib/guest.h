/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code that runs inside the guest, and the "ucall" protocol by which it
 * talks to the host.
 *
 * A 64-bit guest is plain C of the test binary: vm_create() copies the
 * binary's loaded segments into guest memory at their own addresses and
 * every paging mode identity-maps them, so a function pointer, a string
 * literal or a global means the same in the guest as in the host (the
 * guest works on its own copy of the globals).  Guest code must not call
 * libc (static glibc resolves memcpy & co. to AVX variants at startup and
 * touches TLS), nor use the red zone across exceptions: IDT gates switch
 * to an IST stack so that the compiler's red zone is safe.
 *
 * ucall: the guest executes "out %al, $UCALL_PORT" with the command in
 * AL and up to four arguments in RDI, RSI, RDX and RCX.  Raw asm guests
 * use the same convention with the 32-bit or 16-bit registers.  The host
 * reads the command from the I/O data and the arguments with KVM_GET_REGS.
 */
#ifndef MKVM_LIB_GUEST_H
#define MKVM_LIB_GUEST_H

#include <stdint.h>

#include "test_util.h"

#define UCALL_PORT	0xe7
#define UCALL_PORT_S	"0xe7"

/* Commands (numbers, so that asm strings can use them). */
#define UCALL_NONE	0
#define UCALL_SYNC	1	/* a checkpoint, with values */
#define UCALL_DONE	2	/* the guest finished */
#define UCALL_ASSERT	3	/* GUEST_ASSERT failed: string, values */
#define UCALL_UNHANDLED	4	/* exception without handler: vector, error, rip */
#define NR_UCALLS	5

/* In asm snippets: ucall with the command in AL already set up. */
#define ASM_UCALL(cmd) "mov $" STR(cmd) ", %al\n\tout %al, $" UCALL_PORT_S "\n\t"

static inline void ucall(uint8_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
			 uint64_t a3)
{
	asm volatile("out %%al, $" UCALL_PORT_S
		     : : "a"(cmd), "D"(a0), "S"(a1), "d"(a2), "c"(a3)
		     : "memory");
}

#define GUEST_SYNC(a0, a1)	ucall(UCALL_SYNC, (a0), (a1), 0, 0)
#define GUEST_SYNC4(a0, a1, a2, a3) \
	ucall(UCALL_SYNC, (a0), (a1), (a2), (a3))
#define GUEST_DONE()		ucall(UCALL_DONE, 0, 0, 0, 0)

#define GUEST_ASSERT(cond) do {						\
	if (!(cond))							\
		ucall(UCALL_ASSERT,					\
		      (uint64_t)(__FILE__ ":" STR(__LINE__) ": " #cond), \
		      0, 0, 0);						\
} while (0)

#define GUEST_ASSERT_EQ(a, b) do {					\
	uint64_t __a = (a), __b = (b);					\
	if (__a != __b)							\
		ucall(UCALL_ASSERT,					\
		      (uint64_t)(__FILE__ ":" STR(__LINE__) ": " #a " == " #b), \
		      __a, __b, 1);					\
} while (0)

/* The frame guest_exc_stubs build for a handler (64-bit). */
struct ex_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	/* the CPU's interrupt frame */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct ex_regs *regs);

/*
 * Install a handler for @vector in the guest (call this from the guest).
 * A handler may change the frame, e.g. regs->rip to skip an instruction.
 * Vectors without a handler end the guest with UCALL_UNHANDLED.
 */
void guest_set_handler(int vector, guest_handler_t handler);

/*
 * Run fn(arg) at CPL 3 (64-bit, RFLAGS.IOPL = 3 so that port IO and the
 * ucall work there, IF clear) on a stack of the library's, and return
 * its result at CPL 0.  Needs page tables that map the code, its data
 * and that stack as user pages (vm_user_tables() in x86.h).  Exceptions
 * raised at CPL 3 reach the handlers of guest_set_handler(), which may
 * resume the user code; the user code returns to CPL 0 by INT
 * USER_RETURN_VECTOR, the one gate of the IDT open to CPL 3.  One vCPU
 * of a VM at a time.
 */
#define USER_RETURN_VECTOR	0x80
uint64_t guest_run_user(uint64_t (*fn)(uint64_t), uint64_t arg);

/* 256 entry points of 16 bytes each, for the IDT (x86.c fills it). */
extern const char guest_exc_stubs[];
/* Where a C guest returns to: GUEST_DONE(). */
extern const char guest_return[];

static inline uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}

static inline void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static inline void guest_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *a,
			       uint32_t *b, uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(subleaf));
}

#endif /* MKVM_LIB_GUEST_H */
