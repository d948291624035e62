// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of kmod/emulate.c.
 *
 * The decoder is checked against tables of real encodings: the bytes come
 * from GNU as (.code16/.code32/.code64) and objdump confirmed that each
 * row is exactly one instruction of that length; the string is the source
 * line (or objdump's reading of a .byte row).  Every valid row is also
 * decoded from each of its truncations, which must ask for more bytes,
 * each in a buffer of exactly that size (run.sh builds with ASan).
 * The page walker runs on page tables built in a fake guest memory.
 *
 * Built and run by selftests/unit/run.sh.
 */
#include <string.h>

#include <linux/bits.h>		/* BIT(), used by emulate.h */
#include <asm/trapnr.h>

#include "kselftest_harness.h"
#include "emulate.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
       R8, R9, R10, R11, R12, R13, R14, R15 };

/* R16 rows are run in both real mode and 16-bit protected mode. */
#define R16	MKVM_MODE_REAL
#define P32	MKVM_MODE_PROT32
#define L64	MKVM_MODE_LONG64

struct decode_case {
	const char *text;
	enum mkvm_cpu_mode mode;
	int ret;
	u8 kind, size, reg, dst_size;
	bool high8, has_imm, sign_extend;
	u64 imm;
	/* for the value tests */
	u64 data, want;
	u8 n;
	u8 bytes[24];
};

#define B(...)		.bytes = { __VA_ARGS__ }, \
			.n = sizeof((u8[]){ __VA_ARGS__ })
#define LDX(sz, r, dst)	.kind = MKVM_INSN_LOAD, .size = sz, .reg = r, \
			.dst_size = dst
#define LDS(sz, r, dst)	LDX(sz, r, dst), .sign_extend = true
#define LD(sz, r)	LDX(sz, r, sz)
#define LDH(r)		LD(1, r), .high8 = true
#define ST(sz, r)	.kind = MKVM_INSN_STORE, .size = sz, .reg = r
#define STH(r)		ST(1, r), .high8 = true
#define STI(sz, v)	.kind = MKVM_INSN_STORE, .size = sz, \
			.has_imm = true, .imm = v
#define BAD		.ret = -EINVAL
#define LOADV(d, r, w)	.data = d, .reg = r, .want = w
#define STOREV(w)	.want = w

static const char *mode_name(enum mkvm_cpu_mode mode)
{
	static const char * const names[] = {
		[MKVM_MODE_REAL] = "real", [MKVM_MODE_PROT16] = "prot16",
		[MKVM_MODE_PROT32] = "prot32", [MKVM_MODE_LONG64] = "long64",
	};

	return names[mode];
}

static void check_decode(struct __test_metadata *_metadata,
			 const struct decode_case *c,
			 enum mkvm_cpu_mode mode)
{
	const char *m = mode_name(mode);
	struct mkvm_insn insn;
	unsigned int avail;
	u8 buf[32];
	int ret;

	/* Followed by int3s: the decoder must stop at the right byte. */
	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, c->bytes, c->n);
	memset(&insn, 0xa5, sizeof(insn));
	ret = mkvm_insn_decode(buf, sizeof(buf), mode, &insn);
	EXPECT_EQ(c->ret, ret) TH_LOG("%s: %s", m, c->text);
	if (c->ret) {
		/* Exactly its bytes available: still rejected. */
		ret = mkvm_insn_decode(c->bytes, c->n, mode, &insn);
		EXPECT_EQ(c->ret, ret) TH_LOG("%s: %s (exact)", m, c->text);
		return;
	}
	if (ret)
		return;

	EXPECT_EQ(c->n, insn.len) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->kind, insn.kind) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->size, insn.size) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->has_imm, insn.has_imm) TH_LOG("%s: %s", m, c->text);
	if (c->has_imm) {
		EXPECT_EQ(c->imm, insn.imm) TH_LOG("%s: %s", m, c->text);
	}
	EXPECT_EQ(c->reg, insn.reg) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->high8, insn.high8) TH_LOG("%s: %s", m, c->text);
	if (c->kind == MKVM_INSN_LOAD) {
		EXPECT_EQ(c->dst_size, insn.dst_size)
			TH_LOG("%s: %s", m, c->text);
		EXPECT_EQ(c->sign_extend, insn.sign_extend)
			TH_LOG("%s: %s", m, c->text);
	}

	/* In buffers of exactly that size, for ASan to catch overreads. */
	for (avail = 0; avail <= c->n; avail++) {
		u8 *exact = malloc(avail);

		ASSERT_TRUE(exact || !avail);
		memcpy(exact, c->bytes, avail);
		ret = mkvm_insn_decode(exact, avail, mode, &insn);
		free(exact);
		EXPECT_EQ(avail < c->n ? -EAGAIN : 0, ret)
			TH_LOG("%s: %s, %u bytes", m, c->text, avail);
	}
}

static void check_table(struct __test_metadata *_metadata,
			const struct decode_case *table, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		check_decode(_metadata, &table[i], table[i].mode);
		if (table[i].mode == MKVM_MODE_REAL)
			check_decode(_metadata, &table[i], MKVM_MODE_PROT16);
	}
	TH_LOG("%zu encodings", nr);
}

static const struct decode_case long64_cases[] = {
	/* mov r, r/m (8B): operand sizes, REX.W/R/X/B, ModRM/SIB/disp forms */
	{ "mov (%rax),%ecx", L64, LD(4, RCX),
	  B(0x8b, 0x08) },
	{ "mov (%rax),%rcx", L64, LD(8, RCX),
	  B(0x48, 0x8b, 0x08) },
	{ "mov (%rax),%cx", L64, LD(2, RCX),
	  B(0x66, 0x8b, 0x08) },
	{ "mov (%rax),%r10d", L64, LD(4, R10),
	  B(0x44, 0x8b, 0x10) },
	{ "mov (%rax),%r11w", L64, LD(2, R11),
	  B(0x66, 0x44, 0x8b, 0x18) },
	{ "mov (%r8),%r9", L64, LD(8, R9),
	  B(0x4d, 0x8b, 0x08) },
	{ "mov (%rbp),%eax", L64, LD(4, RAX),
	  B(0x8b, 0x45, 0x00) },
	{ "mov (%r13),%eax", L64, LD(4, RAX),
	  B(0x41, 0x8b, 0x45, 0x00) },
	{ "mov (%rsp),%eax", L64, LD(4, RAX),
	  B(0x8b, 0x04, 0x24) },
	{ "mov (%r12),%eax", L64, LD(4, RAX),
	  B(0x41, 0x8b, 0x04, 0x24) },
	{ "mov 0x10(%rsp),%edx", L64, LD(4, RDX),
	  B(0x8b, 0x54, 0x24, 0x10) },
	{ "mov 0x1000(%rsp),%edx", L64, LD(4, RDX),
	  B(0x8b, 0x94, 0x24, 0x00, 0x10, 0x00, 0x00) },
	{ "mov -0x80(%rbx),%esi", L64, LD(4, RSI),
	  B(0x8b, 0x73, 0x80) },
	{ "mov 0x12345678(%rbx),%esi", L64, LD(4, RSI),
	  B(0x8b, 0xb3, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678(%rip),%eax", L64, LD(4, RAX),
	  B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678,%eax", L64, LD(4, RAX),
	  B(0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12) },
	{ "mov (%rax,%rbx,4),%esi", L64, LD(4, RSI),
	  B(0x8b, 0x34, 0x98) },
	{ "mov 0x8(%rax,%rbx,4),%esi", L64, LD(4, RSI),
	  B(0x8b, 0x74, 0x98, 0x08) },
	{ "mov 0x12345678(,%rbx,8),%edi", L64, LD(4, RDI),
	  B(0x8b, 0x3c, 0xdd, 0x78, 0x56, 0x34, 0x12) },
	{ "mov (%rbp,%r14,2),%r15", L64, LD(8, R15),
	  B(0x4e, 0x8b, 0x7c, 0x75, 0x00) },
	{ "mov 0x80(%r13,%r14,2),%r15", L64, LD(8, R15),
	  B(0x4f, 0x8b, 0xbc, 0x75, 0x80, 0x00, 0x00, 0x00) },
	{ "mov (%r12,%r12,1),%r12", L64, LD(8, R12),
	  B(0x4f, 0x8b, 0x24, 0x24) },
	{ "mov (%eax),%ecx", L64, LD(4, RCX),
	  B(0x67, 0x8b, 0x08) },
	{ "mov 0x10(%esp),%ecx", L64, LD(4, RCX),
	  B(0x67, 0x8b, 0x4c, 0x24, 0x10) },
	{ "mov 0x12345678(%eip),%eax", L64, LD(4, RAX),
	  B(0x67, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "mov (%r8d,%r9d,8),%r8", L64, LD(8, R8),
	  B(0x67, 0x4f, 0x8b, 0x04, 0xc8) },
	/* mov r8, r/m8 (8A): AH-BH without REX, SPL-DIL with any REX */
	{ "mov (%rax),%al", L64, LD(1, RAX),
	  B(0x8a, 0x00) },
	{ "mov (%rax),%ah", L64, LDH(RAX),
	  B(0x8a, 0x20) },
	{ "mov (%rax),%ch", L64, LDH(RCX),
	  B(0x8a, 0x28) },
	{ "mov (%rax),%dh", L64, LDH(RDX),
	  B(0x8a, 0x30) },
	{ "mov (%rax),%bh", L64, LDH(RBX),
	  B(0x8a, 0x38) },
	{ "mov (%rax),%spl", L64, LD(1, RSP),
	  B(0x40, 0x8a, 0x20) },
	{ "mov (%rax),%bpl", L64, LD(1, RBP),
	  B(0x40, 0x8a, 0x28) },
	{ "mov (%rax),%sil", L64, LD(1, RSI),
	  B(0x40, 0x8a, 0x30) },
	{ "mov (%rax),%dil", L64, LD(1, RDI),
	  B(0x40, 0x8a, 0x38) },
	{ "mov (%r8),%spl", L64, LD(1, RSP),
	  B(0x41, 0x8a, 0x20) },
	{ "mov (%rax),%r8b", L64, LD(1, R8),
	  B(0x44, 0x8a, 0x00) },
	{ "mov (%rax),%r15b", L64, LD(1, R15),
	  B(0x44, 0x8a, 0x38) },
	{ "mov 0x12345678(%rip),%bl", L64, LD(1, RBX),
	  B(0x8a, 0x1d, 0x78, 0x56, 0x34, 0x12) },
	{ "rex.W mov (%rax),%spl", L64, LD(1, RSP),
	  B(0x48, 0x8a, 0x20) },
	/* mov r/m8, r8 (88) */
	{ "mov %al,(%rbx)", L64, ST(1, RAX),
	  B(0x88, 0x03) },
	{ "mov %ah,(%rbx)", L64, STH(RAX),
	  B(0x88, 0x23) },
	{ "mov %dh,0x10(%rbx)", L64, STH(RDX),
	  B(0x88, 0x73, 0x10) },
	{ "mov %bh,(%rsp)", L64, STH(RBX),
	  B(0x88, 0x3c, 0x24) },
	{ "mov %sil,(%rbx)", L64, ST(1, RSI),
	  B(0x40, 0x88, 0x33) },
	{ "mov %dil,(%rbx)", L64, ST(1, RDI),
	  B(0x40, 0x88, 0x3b) },
	{ "mov %r9b,(%rbx)", L64, ST(1, R9),
	  B(0x44, 0x88, 0x0b) },
	{ "mov %bpl,(%r11)", L64, ST(1, RBP),
	  B(0x41, 0x88, 0x2b) },
	{ "mov %cl,(%r11)", L64, ST(1, RCX),
	  B(0x41, 0x88, 0x0b) },
	/* mov r/m, r (89) */
	{ "mov %eax,(%rbx)", L64, ST(4, RAX),
	  B(0x89, 0x03) },
	{ "mov %rax,(%rbx)", L64, ST(8, RAX),
	  B(0x48, 0x89, 0x03) },
	{ "mov %ax,(%rbx)", L64, ST(2, RAX),
	  B(0x66, 0x89, 0x03) },
	{ "mov %r12,(%rbx)", L64, ST(8, R12),
	  B(0x4c, 0x89, 0x23) },
	{ "mov %r12d,0x40(%rip)", L64, ST(4, R12),
	  B(0x44, 0x89, 0x25, 0x40, 0x00, 0x00, 0x00) },
	{ "mov %esp,(%rbx)", L64, ST(4, RSP),
	  B(0x89, 0x23) },
	{ "mov %ebp,-0x8(%rbp)", L64, ST(4, RBP),
	  B(0x89, 0x6d, 0xf8) },
	{ "mov %r15w,0x12345678(%r8,%r9,4)", L64, ST(2, R15),
	  B(0x66, 0x47, 0x89, 0xbc, 0x88, 0x78, 0x56, 0x34,
	    0x12) },
	{ "mov %edi,(%ebx)", L64, ST(4, RDI),
	  B(0x67, 0x89, 0x3b) },
	/* mov r/m, imm (C6 /0, C7 /0): imm8/16/32, imm32 sign-extended to 64 */
	{ "movb $0x12,(%rax)", L64, STI(1, 0x12),
	  B(0xc6, 0x00, 0x12) },
	{ "movb $0xff,0x10(%rbx)", L64, STI(1, 0xff),
	  B(0xc6, 0x43, 0x10, 0xff) },
	{ "movb $0x5,(%r9)", L64, STI(1, 0x05),
	  B(0x41, 0xc6, 0x01, 0x05) },
	{ "movb $0x80,0x12345678(%rip)", L64, STI(1, 0x80),
	  B(0xc6, 0x05, 0x78, 0x56, 0x34, 0x12, 0x80) },
	{ "movw $0x1234,(%rax)", L64, STI(2, 0x1234),
	  B(0x66, 0xc7, 0x00, 0x34, 0x12) },
	{ "movw $0xfedc,0x8(%rsp)", L64, STI(2, 0xfedc),
	  B(0x66, 0xc7, 0x44, 0x24, 0x08, 0xdc, 0xfe) },
	{ "movl $0x12345678,(%rax)", L64, STI(4, 0x12345678),
	  B(0xc7, 0x00, 0x78, 0x56, 0x34, 0x12) },
	{ "movl $0x87654321,(%rax)", L64, STI(4, 0x87654321),
	  B(0xc7, 0x00, 0x21, 0x43, 0x65, 0x87) },
	{ "movl $0x1,0x12345678(%rip)", L64, STI(4, 0x1),
	  B(0xc7, 0x05, 0x78, 0x56, 0x34, 0x12, 0x01, 0x00,
	    0x00, 0x00) },
	{ "movl $0x1,0x10(%rsp)", L64, STI(4, 0x1),
	  B(0xc7, 0x44, 0x24, 0x10, 0x01, 0x00, 0x00, 0x00) },
	{ "movq $0x12345678,(%rax)", L64, STI(8, 0x12345678),
	  B(0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12) },
	{ "movq $-1,(%rax)", L64, STI(8, 0xffffffffffffffffULL),
	  B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff) },
	{ "movq $0xffffffff87654321,(%rax)", L64, STI(8, 0xffffffff87654321ULL),
	  B(0x48, 0xc7, 0x00, 0x21, 0x43, 0x65, 0x87) },
	{ "movq $0x7fffffff,0x12345678(%r12,%r13,8)", L64, STI(8, 0x7fffffff),
	  B(0x4b, 0xc7, 0x84, 0xec, 0x78, 0x56, 0x34, 0x12,
	    0xff, 0xff, 0xff, 0x7f) },
	{ "movw $0x1234,(%eax)", L64, STI(2, 0x1234),
	  B(0x67, 0x66, 0xc7, 0x00, 0x34, 0x12) },
	{ "rex.WR movq $0x12345678,(%rax)", L64, STI(8, 0x12345678),
	  B(0x4c, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12) },
	/* mov rAX, moffs (A0-A3): moffs64, or moffs32 with 67 */
	{ "movabs 0x1122334455667788,%al", L64, LD(1, RAX),
	  B(0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs 0x1122334455667788,%ax", L64, LD(2, RAX),
	  B(0x66, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movabs 0x1122334455667788,%eax", L64, LD(4, RAX),
	  B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs 0x1122334455667788,%rax", L64, LD(8, RAX),
	  B(0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movabs %al,0x1122334455667788", L64, ST(1, RAX),
	  B(0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs %ax,0x1122334455667788", L64, ST(2, RAX),
	  B(0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movabs %eax,0x1122334455667788", L64, ST(4, RAX),
	  B(0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs %rax,0x1122334455667788", L64, ST(8, RAX),
	  B(0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "addr32 mov 0x12345678,%eax", L64, LD(4, RAX),
	  B(0x67, 0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "addr32 mov %rax,0x12345678", L64, ST(8, RAX),
	  B(0x67, 0x48, 0xa3, 0x78, 0x56, 0x34, 0x12) },
	{ "addr32 mov 0x12345678,%al", L64, LD(1, RAX),
	  B(0x67, 0xa0, 0x78, 0x56, 0x34, 0x12) },
	{ "rex.B movabs 0x1122334455667788,%al", L64, LD(1, RAX),
	  B(0x41, 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	/* movzx, movsx (0F B6/B7/BE/BF), movsxd (REX.W 63) */
	{ "movzbl (%rax),%ecx", L64, LDX(1, RCX, 4),
	  B(0x0f, 0xb6, 0x08) },
	{ "movzbw (%rax),%cx", L64, LDX(1, RCX, 2),
	  B(0x66, 0x0f, 0xb6, 0x08) },
	{ "movzbq (%rax),%rcx", L64, LDX(1, RCX, 8),
	  B(0x48, 0x0f, 0xb6, 0x08) },
	{ "movzbl (%rax),%esp", L64, LDX(1, RSP, 4),
	  B(0x0f, 0xb6, 0x20) },
	{ "movzwl (%rax),%ecx", L64, LDX(2, RCX, 4),
	  B(0x0f, 0xb7, 0x08) },
	{ "movzwq (%rax),%r10", L64, LDX(2, R10, 8),
	  B(0x4c, 0x0f, 0xb7, 0x10) },
	{ "movzwl 0x10(%rip),%eax", L64, LDX(2, RAX, 4),
	  B(0x0f, 0xb7, 0x05, 0x10, 0x00, 0x00, 0x00) },
	{ "movzww (%rax),%ax", L64, LDX(2, RAX, 2),
	  B(0x66, 0x0f, 0xb7, 0x00) },
	{ "movsbl (%rax),%ecx", L64, LDS(1, RCX, 4),
	  B(0x0f, 0xbe, 0x08) },
	{ "movsbw (%rax),%cx", L64, LDS(1, RCX, 2),
	  B(0x66, 0x0f, 0xbe, 0x08) },
	{ "movsbq 0x10(%rsp),%r8", L64, LDS(1, R8, 8),
	  B(0x4c, 0x0f, 0xbe, 0x44, 0x24, 0x10) },
	{ "movswl (%rax),%edi", L64, LDS(2, RDI, 4),
	  B(0x0f, 0xbf, 0x38) },
	{ "movswq 0x12345678(%rbx,%rcx,2),%rsi", L64, LDS(2, RSI, 8),
	  B(0x48, 0x0f, 0xbf, 0xb4, 0x4b, 0x78, 0x56, 0x34,
	    0x12) },
	{ "movswl (%eax),%ebx", L64, LDS(2, RBX, 4),
	  B(0x67, 0x0f, 0xbf, 0x18) },
	{ "movslq (%rax),%rcx", L64, LDS(4, RCX, 8),
	  B(0x48, 0x63, 0x08) },
	{ "movslq 0x10(%rsp),%r9", L64, LDS(4, R9, 8),
	  B(0x4c, 0x63, 0x4c, 0x24, 0x10) },
	{ "movslq 0x12345678(%rip),%rax", L64, LDS(4, RAX, 8),
	  B(0x48, 0x63, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "movslq (%eax),%rdx", L64, LDS(4, RDX, 8),
	  B(0x67, 0x48, 0x63, 0x10) },
	{ "data16 movslq (%rax),%rax", L64, LDS(4, RAX, 8),
	  B(0x66, 0x48, 0x63, 0x00) },
};

TEST(decode_long64)
{
	check_table(_metadata, long64_cases, ARRAY_SIZE(long64_cases));
}

static const struct decode_case prot32_cases[] = {
	/* protected mode, CS.D = 1: 32-bit operands and addresses by default */
	{ "mov (%eax),%ecx", P32, LD(4, RCX),
	  B(0x8b, 0x08) },
	{ "mov (%eax),%cx", P32, LD(2, RCX),
	  B(0x66, 0x8b, 0x08) },
	{ "mov (%eax),%al", P32, LD(1, RAX),
	  B(0x8a, 0x00) },
	{ "mov (%eax),%ah", P32, LDH(RAX),
	  B(0x8a, 0x20) },
	{ "mov 0x10(%esi),%bh", P32, LDH(RBX),
	  B(0x8a, 0x7e, 0x10) },
	{ "mov 0x10(%esp),%edx", P32, LD(4, RDX),
	  B(0x8b, 0x54, 0x24, 0x10) },
	{ "mov 0x1000(%esp),%edx", P32, LD(4, RDX),
	  B(0x8b, 0x94, 0x24, 0x00, 0x10, 0x00, 0x00) },
	{ "mov (%ebp),%eax", P32, LD(4, RAX),
	  B(0x8b, 0x45, 0x00) },
	{ "mov 0x12345678,%ecx", P32, LD(4, RCX),
	  B(0x8b, 0x0d, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678(,%esi,2),%edi", P32, LD(4, RDI),
	  B(0x8b, 0x3c, 0x75, 0x78, 0x56, 0x34, 0x12) },
	{ "mov -0x4(%ebp,%edi,8),%esi", P32, LD(4, RSI),
	  B(0x8b, 0x74, 0xfd, 0xfc) },
	{ "mov (%bx,%si),%eax", P32, LD(4, RAX),
	  B(0x67, 0x8b, 0x00) },
	{ "mov 0x1234,%bx", P32, LD(2, RBX),
	  B(0x66, 0x8b, 0x1d, 0x34, 0x12, 0x00, 0x00) },
	{ "mov 0x1234(%bp,%di),%ax", P32, LD(2, RAX),
	  B(0x67, 0x66, 0x8b, 0x83, 0x34, 0x12) },
	{ "mov %eax,(%ebx)", P32, ST(4, RAX),
	  B(0x89, 0x03) },
	{ "mov %dx,0x10(%ebx,%ecx,4)", P32, ST(2, RDX),
	  B(0x66, 0x89, 0x54, 0x8b, 0x10) },
	{ "mov %ch,(%ebx)", P32, STH(RCX),
	  B(0x88, 0x2b) },
	{ "mov %bl,0x12345678", P32, ST(1, RBX),
	  B(0x88, 0x1d, 0x78, 0x56, 0x34, 0x12) },
	{ "mov %esi,0x10(%bp)", P32, ST(4, RSI),
	  B(0x67, 0x89, 0x76, 0x10) },
	{ "movb $0x1,(%eax)", P32, STI(1, 0x01),
	  B(0xc6, 0x00, 0x01) },
	{ "movw $0x1234,(%eax)", P32, STI(2, 0x1234),
	  B(0x66, 0xc7, 0x00, 0x34, 0x12) },
	{ "movl $0x87654321,0x10(%esp,%ecx,8)", P32, STI(4, 0x87654321),
	  B(0xc7, 0x44, 0xcc, 0x10, 0x21, 0x43, 0x65, 0x87) },
	{ "movl $0x12345678,0x12345678", P32, STI(4, 0x12345678),
	  B(0xc7, 0x05, 0x78, 0x56, 0x34, 0x12, 0x78, 0x56,
	    0x34, 0x12) },
	{ "movw $0x8000,0x1234(%bx)", P32, STI(2, 0x8000),
	  B(0x67, 0x66, 0xc7, 0x87, 0x34, 0x12, 0x00, 0x80) },
	{ "mov 0x12345678,%al", P32, LD(1, RAX),
	  B(0xa0, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678,%eax", P32, LD(4, RAX),
	  B(0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678,%ax", P32, LD(2, RAX),
	  B(0x66, 0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "mov %al,0x12345678", P32, ST(1, RAX),
	  B(0xa2, 0x78, 0x56, 0x34, 0x12) },
	{ "mov %ax,0x12345678", P32, ST(2, RAX),
	  B(0x66, 0xa3, 0x78, 0x56, 0x34, 0x12) },
	{ "mov %eax,0x12345678", P32, ST(4, RAX),
	  B(0xa3, 0x78, 0x56, 0x34, 0x12) },
	{ "addr16 mov 0x1234,%al", P32, LD(1, RAX),
	  B(0x67, 0xa0, 0x34, 0x12) },
	{ "addr16 mov %ax,0x1234", P32, ST(2, RAX),
	  B(0x66, 0x67, 0xa3, 0x34, 0x12) },
	{ "movzbl (%eax),%ecx", P32, LDX(1, RCX, 4),
	  B(0x0f, 0xb6, 0x08) },
	{ "movzbw (%eax),%cx", P32, LDX(1, RCX, 2),
	  B(0x66, 0x0f, 0xb6, 0x08) },
	{ "movzwl 0x10(%esp),%esi", P32, LDX(2, RSI, 4),
	  B(0x0f, 0xb7, 0x74, 0x24, 0x10) },
	{ "movzbl (%eax),%edi", P32, LDX(1, RDI, 4),
	  B(0x0f, 0xb6, 0x38) },
	{ "movsbl (%eax),%ecx", P32, LDS(1, RCX, 4),
	  B(0x0f, 0xbe, 0x08) },
	{ "movsbw 0x12345678,%dx", P32, LDS(1, RDX, 2),
	  B(0x66, 0x0f, 0xbe, 0x15, 0x78, 0x56, 0x34, 0x12) },
	{ "movswl (%bx,%di),%eax", P32, LDS(2, RAX, 4),
	  B(0x67, 0x0f, 0xbf, 0x01) },
};

TEST(decode_prot32)
{
	check_table(_metadata, prot32_cases, ARRAY_SIZE(prot32_cases));
}

static const struct decode_case real16_cases[] = {
	/* real mode and CS.D = 0 protected mode: 16-bit operands, addresses */
	{ "mov (%bx),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x07) },
	{ "mov (%bx,%si),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x00) },
	{ "mov (%bp,%di),%cx", R16, LD(2, RCX),
	  B(0x8b, 0x0b) },
	{ "mov (%si),%dx", R16, LD(2, RDX),
	  B(0x8b, 0x14) },
	{ "mov 0x10(%bp),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x46, 0x10) },
	{ "mov -0x2(%bp,%si),%si", R16, LD(2, RSI),
	  B(0x8b, 0x72, 0xfe) },
	{ "mov 0x1234(%bx,%di),%cx", R16, LD(2, RCX),
	  B(0x8b, 0x89, 0x34, 0x12) },
	{ "mov 0x1234(%bp),%di", R16, LD(2, RDI),
	  B(0x8b, 0xbe, 0x34, 0x12) },
	{ "mov 0x1234,%dx", R16, LD(2, RDX),
	  B(0x8b, 0x16, 0x34, 0x12) },
	{ "mov (%bp),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x46, 0x00) },
	{ "mov (%bx),%eax", R16, LD(4, RAX),
	  B(0x66, 0x8b, 0x07) },
	{ "mov (%ebx),%ax", R16, LD(2, RAX),
	  B(0x67, 0x8b, 0x03) },
	{ "mov 0x10(%esp),%eax", R16, LD(4, RAX),
	  B(0x67, 0x66, 0x8b, 0x44, 0x24, 0x10) },
	{ "mov 0x12345678(,%eax,4),%ecx", R16, LD(4, RCX),
	  B(0x67, 0x66, 0x8b, 0x0c, 0x85, 0x78, 0x56, 0x34,
	    0x12) },
	{ "mov (%ebp),%sp", R16, LD(2, RSP),
	  B(0x67, 0x8b, 0x65, 0x00) },
	{ "mov (%si),%al", R16, LD(1, RAX),
	  B(0x8a, 0x04) },
	{ "mov (%si),%ah", R16, LDH(RAX),
	  B(0x8a, 0x24) },
	{ "mov 0x1234,%dh", R16, LDH(RDX),
	  B(0x8a, 0x36, 0x34, 0x12) },
	{ "mov %bh,(%di)", R16, STH(RBX),
	  B(0x88, 0x3d) },
	{ "mov %cl,(%di)", R16, ST(1, RCX),
	  B(0x88, 0x0d) },
	{ "mov %ax,(%bx)", R16, ST(2, RAX),
	  B(0x89, 0x07) },
	{ "mov %eax,0x20(%bx,%si)", R16, ST(4, RAX),
	  B(0x66, 0x89, 0x40, 0x20) },
	{ "mov %bp,0x12345678(%edx)", R16, ST(2, RBP),
	  B(0x67, 0x89, 0xaa, 0x78, 0x56, 0x34, 0x12) },
	{ "movb $0x12,(%bx)", R16, STI(1, 0x12),
	  B(0xc6, 0x07, 0x12) },
	{ "movw $0x1234,0x10(%bx)", R16, STI(2, 0x1234),
	  B(0xc7, 0x47, 0x10, 0x34, 0x12) },
	{ "movw $0xabcd,0x1234", R16, STI(2, 0xabcd),
	  B(0xc7, 0x06, 0x34, 0x12, 0xcd, 0xab) },
	{ "movl $0x12345678,(%bx)", R16, STI(4, 0x12345678),
	  B(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12) },
	{ "movl $0x12345678,0x1000(%ebx)", R16, STI(4, 0x12345678),
	  B(0x67, 0x66, 0xc7, 0x83, 0x00, 0x10, 0x00, 0x00,
	    0x78, 0x56, 0x34, 0x12) },
	{ "movb $0xfe,0x12345678(%eax,%ebx,2)", R16, STI(1, 0xfe),
	  B(0x67, 0xc6, 0x84, 0x58, 0x78, 0x56, 0x34, 0x12,
	    0xfe) },
	{ "mov 0x1234,%al", R16, LD(1, RAX),
	  B(0xa0, 0x34, 0x12) },
	{ "mov 0x1234,%ax", R16, LD(2, RAX),
	  B(0xa1, 0x34, 0x12) },
	{ "mov 0x1234,%eax", R16, LD(4, RAX),
	  B(0x66, 0xa1, 0x34, 0x12) },
	{ "mov %al,0x1234", R16, ST(1, RAX),
	  B(0xa2, 0x34, 0x12) },
	{ "mov %ax,0x1234", R16, ST(2, RAX),
	  B(0xa3, 0x34, 0x12) },
	{ "mov %eax,0x1234", R16, ST(4, RAX),
	  B(0x66, 0xa3, 0x34, 0x12) },
	{ "addr32 mov 0x12345678,%ax", R16, LD(2, RAX),
	  B(0x67, 0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "addr32 mov %eax,0x12345678", R16, ST(4, RAX),
	  B(0x66, 0x67, 0xa3, 0x78, 0x56, 0x34, 0x12) },
	{ "movzbw (%bx),%ax", R16, LDX(1, RAX, 2),
	  B(0x0f, 0xb6, 0x07) },
	{ "movzbl (%bx),%eax", R16, LDX(1, RAX, 4),
	  B(0x66, 0x0f, 0xb6, 0x07) },
	{ "movzwl 0x10(%bp),%esp", R16, LDX(2, RSP, 4),
	  B(0x66, 0x0f, 0xb7, 0x66, 0x10) },
	{ "movsbw (%bx),%ax", R16, LDS(1, RAX, 2),
	  B(0x0f, 0xbe, 0x07) },
	{ "movsbl (%ebx),%edx", R16, LDS(1, RDX, 4),
	  B(0x67, 0x66, 0x0f, 0xbe, 0x13) },
	{ "movswl 0x1234,%ecx", R16, LDS(2, RCX, 4),
	  B(0x66, 0x0f, 0xbf, 0x0e, 0x34, 0x12) },
};

TEST(decode_real_and_prot16)
{
	check_table(_metadata, real16_cases, ARRAY_SIZE(real16_cases));
}

static const struct decode_case prefix_cases[] = {
	/* segment overrides, LOCK, repeated or reordered prefixes, REX */
	{ "mov %fs:(%rax),%eax", L64, LD(4, RAX),
	  B(0x64, 0x8b, 0x00) },
	{ "mov %gs:0x10,%eax", L64, LD(4, RAX),
	  B(0x65, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00) },
	{ "mov %gs:0x10(%rip),%rcx", L64, LD(8, RCX),
	  B(0x65, 0x48, 0x8b, 0x0d, 0x10, 0x00, 0x00, 0x00) },
	{ "mov %fs:0x10(%ebx),%r8w", L64, LD(2, R8),
	  B(0x64, 0x67, 0x66, 0x44, 0x8b, 0x43, 0x10) },
	{ "movl $0x1,%gs:0x12345678(%rax,%rbx,8)", L64, STI(4, 0x1),
	  B(0x65, 0xc7, 0x84, 0xd8, 0x78, 0x56, 0x34, 0x12,
	    0x01, 0x00, 0x00, 0x00) },
	{ "ds mov %eax,(%rbx)", L64, ST(4, RAX),
	  B(0x3e, 0x89, 0x03) },
	{ "cs ss ds es fs lock mov %gs:(%rax),%eax", L64, LD(4, RAX),
	  B(0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf0, 0x8b,
	    0x00) },
	{ "lock mov %eax,(%rbx)", L64, ST(4, RAX),
	  B(0xf0, 0x89, 0x03) },
	{ "lock movq $0xffffffffffffffff,(%rax)", L64,
	  STI(8, 0xffffffffffffffffULL),
	  B(0xf0, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff) },
	{ "data16 mov %rax,(%rbx)", L64, ST(8, RAX),
	  B(0x66, 0x48, 0x89, 0x03) },
	{ "rex.W mov %ax,(%rbx)", L64, ST(2, RAX),
	  B(0x48, 0x66, 0x89, 0x03) },
	{ "rex data16 mov %ah,(%rbx)", L64, STH(RAX),
	  B(0x40, 0x66, 0x88, 0x23) },
	{ "rex.W addr32 mov 0x12345678,%eax", L64, LD(4, RAX),
	  B(0x48, 0x67, 0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "rex.W mov %fs:(%rax),%eax", L64, LD(4, RAX),
	  B(0x48, 0x64, 0x8b, 0x00) },
	{ "mov %fs:(%rax),%rax", L64, LD(8, RAX),
	  B(0x64, 0x48, 0x8b, 0x00) },
	{ "data16 mov (%rax),%ax", L64, LD(2, RAX),
	  B(0x66, 0x66, 0x8b, 0x00) },
	{ "addr32 mov (%esp),%eax", L64, LD(4, RAX),
	  B(0x67, 0x67, 0x8b, 0x04, 0x24) },
	{ "mov %ax,(%ebx)", L64, ST(2, RAX),
	  B(0x66, 0x67, 0x89, 0x03) },
	{ "movw $0x1234,(%eax)", L64, STI(2, 0x1234),
	  B(0x67, 0x66, 0xc7, 0x00, 0x34, 0x12) },
	{ "data16 movb $0x12,(%rax)", L64, STI(1, 0x12),
	  B(0x66, 0xc6, 0x00, 0x12) },
	{ "movzbq (%rax),%rax", L64, LDX(1, RAX, 8),
	  B(0x48, 0x0f, 0xb6, 0x00) },
	{ "data16 movsbq (%rax),%r8", L64, LDS(1, R8, 8),
	  B(0x66, 0x4c, 0x0f, 0xbe, 0x00) },
	{ "mov %es:(%edi),%eax", P32, LD(4, RAX),
	  B(0x26, 0x8b, 0x07) },
	{ "mov %fs:0x10,%eax", P32, LD(4, RAX),
	  B(0x64, 0xa1, 0x10, 0x00, 0x00, 0x00) },
	{ "lock mov %ax,%cs:(%bx)", P32, ST(2, RAX),
	  B(0xf0, 0x2e, 0x66, 0x67, 0x89, 0x07) },
	{ "movzbw %es:(%edi),%ax", P32, LDX(1, RAX, 2),
	  B(0x26, 0x66, 0x0f, 0xb6, 0x07) },
	{ "mov %es:(%di),%ax", R16, LD(2, RAX),
	  B(0x26, 0x8b, 0x05) },
	{ "mov %cs:0x10(%bx),%ax", R16, LD(2, RAX),
	  B(0x2e, 0x8b, 0x47, 0x10) },
	{ "mov %ss:0x1234,%al", R16, LD(1, RAX),
	  B(0x36, 0xa0, 0x34, 0x12) },
	{ "mov %fs:0x10(%esp),%eax", R16, LD(4, RAX),
	  B(0x64, 0x66, 0x67, 0x8b, 0x44, 0x24, 0x10) },
	/* 15 bytes, the longest instruction there is */
	{ "cs movq $0x1,%fs:0x12345678(%esp)", L64, STI(8, 0x1),
	  B(0x2e, 0x64, 0x67, 0x48, 0xc7, 0x84, 0x24, 0x78,
	    0x56, 0x34, 0x12, 0x01, 0x00, 0x00, 0x00) },
	{ "15 bytes: 13 x cs mov (%rax),%eax", L64, LD(4, RAX),
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x8b, 0x00) },
};

TEST(decode_prefixes)
{
	check_table(_metadata, prefix_cases, ARRAY_SIZE(prefix_cases));
}

static const struct decode_case mode_cases[] = {
	/* the same bytes in each mode: default operand and address sizes */
	{ "mov (%si),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x04) },
	{ "mov (%esp),%eax", P32, LD(4, RAX),
	  B(0x8b, 0x04, 0x24) },
	{ "mov (%rsp),%eax", L64, LD(4, RAX),
	  B(0x8b, 0x04, 0x24) },
	{ "mov (%di),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x05) },
	{ "mov 0x12345678,%eax", P32, LD(4, RAX),
	  B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678(%rip),%eax", L64, LD(4, RAX),
	  B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x1234,%ax", R16, LD(2, RAX),
	  B(0x8b, 0x06, 0x34, 0x12) },
	{ "mov (%esi),%eax", P32, LD(4, RAX),
	  B(0x8b, 0x06) },
	{ "mov (%rsi),%eax", L64, LD(4, RAX),
	  B(0x8b, 0x06) },
	{ "mov 0x1234(%si),%ax", R16, LD(2, RAX),
	  B(0x8b, 0x84, 0x34, 0x12) },
	{ "mov 0x12345678(%esp),%eax", P32, LD(4, RAX),
	  B(0x8b, 0x84, 0x24, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x1234,%ax", R16, LD(2, RAX),
	  B(0xa1, 0x34, 0x12) },
	{ "mov 0x12345678,%eax", P32, LD(4, RAX),
	  B(0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "movabs 0x1122334455667788,%eax", L64, LD(4, RAX),
	  B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movw $0x1234,(%bx)", R16, STI(2, 0x1234),
	  B(0xc7, 0x07, 0x34, 0x12) },
	{ "movl $0x12345678,(%edi)", P32, STI(4, 0x12345678),
	  B(0xc7, 0x07, 0x78, 0x56, 0x34, 0x12) },
	{ "movl $0x12345678,(%rdi)", L64, STI(4, 0x12345678),
	  B(0xc7, 0x07, 0x78, 0x56, 0x34, 0x12) },
	{ "movl $0x12345678,(%bx)", R16, STI(4, 0x12345678),
	  B(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12) },
	{ "movw $0x1234,(%edi)", P32, STI(2, 0x1234),
	  B(0x66, 0xc7, 0x07, 0x34, 0x12) },
	{ "movw $0x1234,(%rdi)", L64, STI(2, 0x1234),
	  B(0x66, 0xc7, 0x07, 0x34, 0x12) },
	{ "movzbw (%bx),%ax", R16, LDX(1, RAX, 2),
	  B(0x0f, 0xb6, 0x07) },
	{ "movzbl (%edi),%eax", P32, LDX(1, RAX, 4),
	  B(0x0f, 0xb6, 0x07) },
	{ "movzbl (%rdi),%eax", L64, LDX(1, RAX, 4),
	  B(0x0f, 0xb6, 0x07) },
	{ "mov (%rdi),%rax", L64, LD(8, RAX),
	  B(0x48, 0x8b, 0x07) },
	{ "dec %eax mov (%edi),%eax", P32, BAD,
	  B(0x48, 0x8b, 0x07) },
};

TEST(decode_mode_defaults)
{
	check_table(_metadata, mode_cases, ARRAY_SIZE(mode_cases));
}

static const struct decode_case reject_cases[] = {
	/* register forms (mod = 3) do not touch memory */
	{ "mov %eax,%ecx", L64, BAD,
	  B(0x89, 0xc1) },
	{ "mov %eax,%ecx", L64, BAD,
	  B(0x8b, 0xc8) },
	{ "mov %al,%ah", L64, BAD,
	  B(0x88, 0xc4) },
	{ "mov $0x12345678,%eax", L64, BAD,
	  B(0xb8, 0x78, 0x56, 0x34, 0x12) },
	{ "mov $0x12,%al", L64, BAD,
	  B(0xc6, 0xc0, 0x12) },
	{ "movzbl %al,%ecx", L64, BAD,
	  B(0x0f, 0xb6, 0xc8) },
	{ "movswq %ax,%rcx", L64, BAD,
	  B(0x48, 0x0f, 0xbf, 0xc8) },
	{ "movslq %eax,%rcx", L64, BAD,
	  B(0x48, 0x63, 0xc8) },
	{ "mov %eax,%ecx", P32, BAD,
	  B(0x89, 0xc1) },
	{ "mov %ah,%al", R16, BAD,
	  B(0x8a, 0xc4) },
	/* C6/C7 with ModRM.reg != 0 (XABORT, XBEGIN, undefined) */
	{ "c6 /1 (undefined)", L64, BAD,
	  B(0xc6, 0x08, 0x12) },
	{ "c7 /7 (undefined)", L64, BAD,
	  B(0xc7, 0x38, 0x78, 0x56, 0x34, 0x12) },
	{ "xabort $0x1", L64, BAD,
	  B(0xc6, 0xf8, 0x01) },
	{ "xbegin 0x6", L64, BAD,
	  B(0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00) },
	/* string instructions and REP */
	{ "movsb", L64, BAD,
	  B(0xa4) },
	{ "movsl", L64, BAD,
	  B(0xa5) },
	{ "rep movsq", L64, BAD,
	  B(0xf3, 0x48, 0xa5) },
	{ "stosl", L64, BAD,
	  B(0xab) },
	{ "lodsb", L64, BAD,
	  B(0xac) },
	{ "rep stosb", L64, BAD,
	  B(0xf3, 0xaa) },
	{ "movsw", P32, BAD,
	  B(0x66, 0xa5) },
	{ "rep movsb", R16, BAD,
	  B(0xf3, 0xa4) },
	/* other instructions touching memory */
	{ "add %eax,(%rbx)", L64, BAD,
	  B(0x01, 0x03) },
	{ "xchg %eax,(%rbx)", L64, BAD,
	  B(0x87, 0x03) },
	{ "lock cmpxchg %ecx,(%rbx)", L64, BAD,
	  B(0xf0, 0x0f, 0xb1, 0x0b) },
	{ "movnti %eax,(%rbx)", L64, BAD,
	  B(0x0f, 0xc3, 0x03) },
	{ "movups (%rax),%xmm0", L64, BAD,
	  B(0x0f, 0x10, 0x00) },
	{ "vmovdqu (%rax),%ymm0", L64, BAD,
	  B(0xc5, 0xfe, 0x6f, 0x00) },
	{ "movbe (%rax),%eax", L64, BAD,
	  B(0x0f, 0x38, 0xf0, 0x00) },
	{ "cmpl $0x0,(%rax)", L64, BAD,
	  B(0x83, 0x38, 0x00) },
	{ "testb $0x1,(%rax)", L64, BAD,
	  B(0xf6, 0x00, 0x01) },
	{ "incl (%rax)", L64, BAD,
	  B(0xff, 0x00) },
	{ "push (%rax)", L64, BAD,
	  B(0xff, 0x30) },
	{ "pi2fd (%rax),%mm0", L64, BAD,
	  B(0x0f, 0x0f, 0x00, 0x0d) },
	{ "mov (%rax),%ds", L64, BAD,
	  B(0x8e, 0x18) },
	/* F2/F3 (REP, XACQUIRE/XRELEASE) before a MOV are not accepted */
	{ "xrelease mov %eax,(%rbx)", L64, BAD,
	  B(0xf3, 0x89, 0x03) },
	{ "repz mov (%rax),%eax", L64, BAD,
	  B(0xf3, 0x8b, 0x00) },
	{ "repnz movzbl (%rax),%eax", L64, BAD,
	  B(0xf2, 0x0f, 0xb6, 0x00) },
	/* movsxd without REX.W, and 63 (ARPL) outside 64-bit mode */
	{ "movsxd (%rax),%eax", L64, BAD,
	  B(0x63, 0x00) },
	{ "movsxd (%rax),%ax", L64, BAD,
	  B(0x66, 0x63, 0x00) },
	{ "movsxd (%rax),%r8d", L64, BAD,
	  B(0x44, 0x63, 0x00) },
	{ "arpl %ax,(%ebx)", P32, BAD,
	  B(0x63, 0x03) },
	{ "arpl %ax,(%bx)", R16, BAD,
	  B(0x63, 0x07) },
	/* 40-4F are INC/DEC, not REX, outside 64-bit mode */
	{ "dec %eax mov (%eax),%eax", P32, BAD,
	  B(0x48, 0x8b, 0x00) },
	{ "inc %ax mov %ax,(%bx)", R16, BAD,
	  B(0x40, 0x89, 0x07) },
	/* longer than 15 bytes */
	{ "16 bytes: lock cs movq $0x1,%fs:0x12345678(%esp)", L64, BAD,
	  B(0xf0, 0x2e, 0x64, 0x67, 0x48, 0xc7, 0x84, 0x24,
	    0x78, 0x56, 0x34, 0x12, 0x01, 0x00, 0x00, 0x00) },
	{ "16 bytes: 14 x cs mov (%rax),%eax", L64, BAD,
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x8b, 0x00) },
	{ "20 bytes: 11 x data32 movw $0x1234,0x12345678(%eax)", R16, BAD,
	  B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	    0x66, 0x66, 0x66, 0x67, 0xc7, 0x80, 0x78, 0x56,
	    0x34, 0x12, 0x34, 0x12) },
};

TEST(decode_rejects)
{
	check_table(_metadata, reject_cases, ARRAY_SIZE(reject_cases));
}

TEST(decode_truncated)
{
	static const u8 prefixes[] = { 0x66, 0x67, 0x2e, 0xf0, 0x48, 0x0f };
	struct mkvm_insn insn;
	enum mkvm_cpu_mode mode;

	for (mode = MKVM_MODE_REAL; mode <= MKVM_MODE_LONG64; mode++) {
		EXPECT_EQ(-EAGAIN, mkvm_insn_decode(prefixes, 0, mode, &insn));
		EXPECT_EQ(-EAGAIN, mkvm_insn_decode(prefixes, 4, mode, &insn));
	}
	EXPECT_EQ(-EAGAIN, mkvm_insn_decode(prefixes, 5, L64, &insn));
	EXPECT_EQ(-EINVAL, mkvm_insn_decode(prefixes, 5, P32, &insn));
	EXPECT_EQ(-EAGAIN, mkvm_insn_decode(&prefixes[5], 1, P32, &insn));
}

/*
 * The prefix and opcode scan that every decoder shares.  As above, the
 * bytes of each row were checked with objdump; a row's bytes may go on
 * past the head (an operand), which the scan must not read.
 */
struct head_case {
	const char *text;
	enum mkvm_cpu_mode mode;
	u8 len, nr_prefixes, osize, asize, rep, rex;
	s8 seg;
	bool lock;
	u16 opcode;
	u8 n;
	u8 bytes[24];
};

#define NOSEG		(-1)
#define HEAD(l, np, op, os, as, sg) \
			.len = l, .nr_prefixes = np, .opcode = op, \
			.osize = os, .asize = as, .seg = sg

static const struct head_case head_cases[] = {
	{ "cpuid", L64, HEAD(2, 0, 0x0fa2, 4, 8, NOSEG),
	  B(0x0f, 0xa2) },
	{ "data16 cpuid", L64, HEAD(3, 1, 0x0fa2, 2, 8, NOSEG),
	  B(0x66, 0x0f, 0xa2) },
	{ "rex.W cpuid", L64, HEAD(3, 1, 0x0fa2, 8, 8, NOSEG), .rex = 0x48,
	  B(0x48, 0x0f, 0xa2) },
	{ "wbnoinvd", L64, HEAD(3, 1, 0x0f09, 4, 8, NOSEG), .rep = 0xf3,
	  B(0xf3, 0x0f, 0x09) },
	{ "hlt", L64, HEAD(1, 0, 0xf4, 4, 8, NOSEG),
	  B(0xf4) },
	{ "rep stos %rax,%es:(%rdi)", L64, HEAD(3, 2, 0xab, 8, 8, NOSEG),
	  .rep = 0xf3, .rex = 0x48,
	  B(0xf3, 0x48, 0xab) },
	/* a REX followed by a legacy prefix does not count */
	{ "rex.W stos %ax,%es:(%rdi)", L64, HEAD(3, 2, 0xab, 2, 8, NOSEG),
	  B(0x48, 0x66, 0xab) },
	{ "lock incw %fs:(%r8d)", L64, HEAD(6, 5, 0xff, 2, 4, MKVM_SEG_FS),
	  .lock = true, .rex = 0x41,
	  B(0x64, 0xf0, 0x67, 0x66, 0x41, 0xff, 0x00) },
	/* a repeated prefix is still one; the last of a group counts */
	{ "addr32 movsb %ds:(%esi),%es:(%edi)", L64,
	  HEAD(3, 2, 0xa4, 4, 4, NOSEG),
	  B(0x67, 0x67, 0xa4) },
	{ "cs movsl %fs:(%rsi),%es:(%rdi)", L64,
	  HEAD(3, 2, 0xa5, 4, 8, MKVM_SEG_FS),
	  B(0x2e, 0x64, 0xa5) },
	{ "rep repnz movsb", L64, HEAD(3, 2, 0xa4, 4, 8, NOSEG), .rep = 0xf2,
	  B(0xf3, 0xf2, 0xa4) },
	{ "movbe (%rax),%eax", L64, HEAD(2, 0, 0x0f38, 4, 8, NOSEG),
	  B(0x0f, 0x38, 0xf0, 0x00) },
	{ "mov %rax,%cr8", L64, HEAD(3, 1, 0x0f22, 4, 8, NOSEG), .rex = 0x44,
	  B(0x44, 0x0f, 0x22, 0xc0) },
	{ "14 x rex.W nop", L64, HEAD(15, 14, 0x90, 8, 8, NOSEG), .rex = 0x48,
	  B(0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48,
	    0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x90) },
	{ "13 x cs cpuid", L64, HEAD(15, 13, 0x0fa2, 4, 8, MKVM_SEG_CS),
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x0f, 0xa2) },
	/* 40-4F are opcodes outside 64-bit mode */
	{ "dec %eax", P32, HEAD(1, 0, 0x48, 4, 4, NOSEG),
	  B(0x48) },
	{ "insw (%dx),%es:(%edi)", P32, HEAD(2, 1, 0x6d, 2, 4, NOSEG),
	  B(0x66, 0x6d) },
	{ "rep movsb %ds:(%si),%es:(%di)", P32, HEAD(3, 2, 0xa4, 4, 2, NOSEG),
	  .rep = 0xf3,
	  B(0x67, 0xf3, 0xa4) },
	{ "addr16 movsb %ds:(%si),%es:(%di)", P32,
	  HEAD(3, 2, 0xa4, 4, 2, NOSEG),
	  B(0x67, 0x67, 0xa4) },
	{ "lock incl %ss:(%eax)", P32, HEAD(3, 2, 0xff, 4, 4, MKVM_SEG_SS),
	  .lock = true,
	  B(0x36, 0xf0, 0xff, 0x00) },
	{ "inc %ax", R16, HEAD(1, 0, 0x40, 2, 2, NOSEG),
	  B(0x40) },
	{ "lods %ds:(%si),%eax", R16, HEAD(2, 1, 0xad, 4, 2, NOSEG),
	  B(0x66, 0xad) },
	{ "rep movsl %ds:(%esi),%es:(%edi)", R16,
	  HEAD(4, 3, 0xa5, 4, 4, NOSEG), .rep = 0xf3,
	  B(0x67, 0x66, 0xf3, 0xa5) },
	{ "lods %es:(%si),%al", R16, HEAD(2, 1, 0xac, 2, 2, MKVM_SEG_ES),
	  B(0x26, 0xac) },
	{ "data32 mov %cr0,%eax", R16, HEAD(3, 1, 0x0f20, 4, 2, NOSEG),
	  B(0x66, 0x0f, 0x20, 0xc0) },
};

static void check_head(struct __test_metadata *_metadata,
		       const struct head_case *c, enum mkvm_cpu_mode mode)
{
	const char *m = mode_name(mode);
	struct mkvm_insn_head h;
	unsigned int avail;
	u8 buf[32];
	int ret;

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, c->bytes, c->n);
	memset(&h, 0xa5, sizeof(h));
	ret = mkvm_insn_decode_head(buf, sizeof(buf), mode, &h);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->len, h.len) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->nr_prefixes, h.nr_prefixes) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->opcode, h.opcode) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->osize, h.osize) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->asize, h.asize) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->seg, h.seg) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->rep, h.rep) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->lock, h.lock) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->rex, h.rex) TH_LOG("%s: %s", m, c->text);

	/* The head needs its own bytes and no more. */
	for (avail = 0; avail <= c->len; avail++) {
		u8 *exact = malloc(avail);

		ASSERT_TRUE(exact || !avail);
		memcpy(exact, c->bytes, avail);
		ret = mkvm_insn_decode_head(exact, avail, mode, &h);
		free(exact);
		EXPECT_EQ(avail < c->len ? -EAGAIN : 0, ret)
			TH_LOG("%s: %s, %u bytes", m, c->text, avail);
	}
}

TEST(decode_head)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(head_cases); i++) {
		check_head(_metadata, &head_cases[i], head_cases[i].mode);
		if (head_cases[i].mode == MKVM_MODE_REAL)
			check_head(_metadata, &head_cases[i], MKVM_MODE_PROT16);
	}
	TH_LOG("%zu encodings", ARRAY_SIZE(head_cases));
}

/* No instruction is longer than 15 bytes, however many bytes follow. */
TEST(decode_head_limit)
{
	struct mkvm_insn_head h;
	enum mkvm_cpu_mode mode;
	u8 buf[32];

	for (mode = MKVM_MODE_REAL; mode <= MKVM_MODE_LONG64; mode++) {
		memset(buf, 0x2e, sizeof(buf));
		buf[14] = 0x90;			/* 14 prefixes, nop */
		EXPECT_EQ(0, mkvm_insn_decode_head(buf, sizeof(buf), mode, &h));
		EXPECT_EQ(15, h.len);
		buf[14] = 0x2e;
		buf[15] = 0x90;			/* 15 prefixes, nop */
		EXPECT_EQ(-EINVAL,
			  mkvm_insn_decode_head(buf, sizeof(buf), mode, &h));
		EXPECT_EQ(-EINVAL, mkvm_insn_decode_head(buf, 15, mode, &h));
		EXPECT_EQ(-EAGAIN, mkvm_insn_decode_head(buf, 14, mode, &h));
		buf[13] = 0x0f;			/* 13 prefixes, cpuid */
		buf[14] = 0xa2;
		EXPECT_EQ(0, mkvm_insn_decode_head(buf, sizeof(buf), mode, &h));
		EXPECT_EQ(15, h.len);
		EXPECT_EQ(0x0fa2, h.opcode);
		buf[13] = 0x2e;			/* 14 prefixes, cpuid */
		buf[14] = 0x0f;
		buf[15] = 0xa2;
		EXPECT_EQ(-EINVAL,
			  mkvm_insn_decode_head(buf, sizeof(buf), mode, &h));
	}
}

struct string_case {
	const char *text;
	enum mkvm_cpu_mode mode;
	int ret;
	u8 op, size, asize, seg;
	bool rep;
	u8 n;
	u8 bytes[24];
};

#define STR(o, sz, as, sg)	.op = MKVM_STRING_##o, .size = sz, \
				.asize = as, .seg = MKVM_SEG_##sg

static const struct string_case string_cases[] = {
	{ "movsb", L64, STR(MOVS, 1, 8, DS),
	  B(0xa4) },
	{ "rep movsq", L64, STR(MOVS, 8, 8, DS), .rep = true,
	  B(0xf3, 0x48, 0xa5) },
	{ "movsl %fs:(%rsi),%es:(%rdi)", L64, STR(MOVS, 4, 8, FS),
	  B(0x64, 0xa5) },
	{ "repnz movsb", L64, STR(MOVS, 1, 8, DS), .rep = true,
	  B(0xf2, 0xa4) },
	{ "rep stos %eax,%es:(%edi)", L64, STR(STOS, 4, 4, DS), .rep = true,
	  B(0x67, 0xf3, 0xab) },
	{ "lods %ds:(%rsi),%ax", L64, STR(LODS, 2, 8, DS),
	  B(0x66, 0xad) },
	{ "rep insb (%dx),%es:(%rdi)", L64, STR(INS, 1, 8, DS), .rep = true,
	  B(0xf3, 0x6c) },
	{ "rex.W outsl %ds:(%rsi),(%dx)", L64, STR(OUTS, 4, 8, DS),
	  B(0x48, 0x6f) },
	{ "rep outsw %gs:(%rsi),(%dx)", L64, STR(OUTS, 2, 8, GS), .rep = true,
	  B(0x65, 0x66, 0xf3, 0x6f) },
	{ "rep movsw", P32, STR(MOVS, 2, 4, DS), .rep = true,
	  B(0x66, 0xf3, 0xa5) },
	{ "movsl %ds:(%si),%es:(%di)", P32, STR(MOVS, 4, 2, DS),
	  B(0x67, 0xa5) },
	{ "outsb %es:(%esi),(%dx)", P32, STR(OUTS, 1, 4, ES),
	  B(0x26, 0x6e) },
	{ "rep movsw", R16, STR(MOVS, 2, 2, DS), .rep = true,
	  B(0xf3, 0xa5) },
	{ "rep movsl", R16, STR(MOVS, 4, 2, DS), .rep = true,
	  B(0x66, 0xf3, 0xa5) },
	{ "rep movsl %ds:(%esi),%es:(%edi)", R16, STR(MOVS, 4, 4, DS),
	  .rep = true,
	  B(0x67, 0x66, 0xf3, 0xa5) },
	{ "rep outsb %ds:(%si),(%dx)", R16, STR(OUTS, 1, 2, DS), .rep = true,
	  B(0xf3, 0x6e) },
	{ "insl (%dx),%es:(%di)", R16, STR(INS, 4, 2, DS),
	  B(0x66, 0x6d) },
	{ "lods %es:(%si),%al", R16, STR(LODS, 1, 2, ES),
	  B(0x26, 0xac) },
	/* not one of them */
	{ "cmpsb", L64, BAD, B(0xa6) },
	{ "scas %es:(%rdi),%eax", L64, BAD, B(0xaf) },
	{ "in (%dx),%al", L64, BAD, B(0xec) },
	{ "mov (%rax),%eax", L64, BAD, B(0x8b, 0x00) },
	{ "shld %cl,%eax,(%rax)", L64, BAD, B(0x0f, 0xa5, 0x00) },
	{ "dec %eax stos", P32, BAD, B(0x48, 0xab) },
	{ "16 bytes: 15 x cs movsb", L64, BAD,
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xa4) },
};

static void check_string(struct __test_metadata *_metadata,
			 const struct string_case *c, enum mkvm_cpu_mode mode)
{
	const char *m = mode_name(mode);
	struct mkvm_string_insn si;
	unsigned int avail;
	u8 buf[32];
	int ret;

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, c->bytes, c->n);
	memset(&si, 0xa5, sizeof(si));
	ret = mkvm_insn_decode_string(buf, sizeof(buf), mode, &si);
	EXPECT_EQ(c->ret, ret) TH_LOG("%s: %s", m, c->text);
	if (ret)
		return;
	EXPECT_EQ(c->n, si.len) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->op, si.op) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->size, si.size) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->asize, si.asize) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->seg, si.seg) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->rep, si.rep) TH_LOG("%s: %s", m, c->text);

	for (avail = 0; avail <= c->n; avail++) {
		u8 *exact = malloc(avail);

		ASSERT_TRUE(exact || !avail);
		memcpy(exact, c->bytes, avail);
		ret = mkvm_insn_decode_string(exact, avail, mode, &si);
		free(exact);
		EXPECT_EQ(avail < c->n ? -EAGAIN : 0, ret)
			TH_LOG("%s: %s, %u bytes", m, c->text, avail);
	}
}

TEST(decode_string)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(string_cases); i++) {
		check_string(_metadata, &string_cases[i], string_cases[i].mode);
		if (string_cases[i].mode == MKVM_MODE_REAL)
			check_string(_metadata, &string_cases[i],
				     MKVM_MODE_PROT16);
	}
	TH_LOG("%zu encodings", ARRAY_SIZE(string_cases));
}

struct sysreg_case {
	const char *text;
	enum mkvm_cpu_mode mode;
	int ret;
	u8 op, reg, gpr;
	bool mem;
	u8 n;
	u8 bytes[24];
};

#define SYS(o, r, g)	.op = MKVM_SYSREG_##o, .reg = r, .gpr = g
#define LMSW_MEM	.op = MKVM_SYSREG_LMSW, .mem = true

static const struct sysreg_case sysreg_cases[] = {
	/* MOV CR/DR: ModRM.reg (REX.R) the CR/DR, ModRM.rm (REX.B) the GPR */
	{ "mov %rax,%cr0", L64, SYS(CR_WRITE, 0, RAX),
	  B(0x0f, 0x22, 0xc0) },
	{ "mov %rbx,%cr4", L64, SYS(CR_WRITE, 4, RBX),
	  B(0x0f, 0x22, 0xe3) },
	{ "mov %r9,%cr4", L64, SYS(CR_WRITE, 4, R9),
	  B(0x41, 0x0f, 0x22, 0xe1) },
	{ "mov %rax,%cr8", L64, SYS(CR_WRITE, 8, RAX),
	  B(0x44, 0x0f, 0x22, 0xc0) },
	{ "rex.WRB mov %r8,%cr8", L64, SYS(CR_WRITE, 8, R8),
	  B(0x4d, 0x0f, 0x22, 0xc0) },
	{ "mov %cr0,%r15", L64, SYS(CR_READ, 0, R15),
	  B(0x41, 0x0f, 0x20, 0xc7) },
	{ "mov %cr3,%rax", L64, SYS(CR_READ, 3, RAX),
	  B(0x0f, 0x20, 0xd8) },
	{ "mov %rax,%db7", L64, SYS(DR_WRITE, 7, RAX),
	  B(0x0f, 0x23, 0xf8) },
	{ "mov %db6,%r10", L64, SYS(DR_READ, 6, R10),
	  B(0x41, 0x0f, 0x21, 0xf2) },
	{ "mov %rax,%db8", L64, SYS(DR_WRITE, 8, RAX),
	  B(0x44, 0x0f, 0x23, 0xc0) },
	/* ModRM.mod is ignored: a register, never SIB or displacement */
	{ "mov %rsp,%cr0 (mod 0)", L64, SYS(CR_WRITE, 0, RSP),
	  B(0x0f, 0x22, 0x04) },
	{ "mov %rbp,%db0 (mod 1)", L64, SYS(DR_WRITE, 0, RBP),
	  B(0x0f, 0x23, 0x45) },
	{ "clts", L64, SYS(CLTS, 0, 0),
	  B(0x0f, 0x06) },
	{ "data16 clts", L64, SYS(CLTS, 0, 0),
	  B(0x66, 0x0f, 0x06) },
	{ "lmsw %ax", L64, SYS(LMSW, 0, RAX),
	  B(0x0f, 0x01, 0xf0) },
	{ "lmsw %r8w", L64, SYS(LMSW, 0, R8),
	  B(0x41, 0x0f, 0x01, 0xf0) },
	{ "lmsw (%rax)", L64, LMSW_MEM,
	  B(0x0f, 0x01, 0x30) },
	{ "lmsw 0x12345678(%rip)", L64, LMSW_MEM,
	  B(0x0f, 0x01, 0x35, 0x78, 0x56, 0x34, 0x12) },
	{ "lmsw 0x10(%rsp)", L64, LMSW_MEM,
	  B(0x0f, 0x01, 0x74, 0x24, 0x10) },
	{ "lmsw (%eax)", L64, LMSW_MEM,
	  B(0x67, 0x0f, 0x01, 0x30) },
	{ "15 bytes: 12 x cs mov %rax,%cr0", L64, SYS(CR_WRITE, 0, RAX),
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x2e, 0x0f, 0x22, 0xc0) },
	/* 32-bit registers, whatever the operand size says */
	{ "mov %eax,%cr0", P32, SYS(CR_WRITE, 0, RAX),
	  B(0x0f, 0x22, 0xc0) },
	{ "data16 mov %eax,%cr0", P32, SYS(CR_WRITE, 0, RAX),
	  B(0x66, 0x0f, 0x22, 0xc0) },
	{ "mov %cr4,%esi", P32, SYS(CR_READ, 4, RSI),
	  B(0x0f, 0x20, 0xe6) },
	{ "mov %edi,%db3", P32, SYS(DR_WRITE, 3, RDI),
	  B(0x0f, 0x23, 0xdf) },
	{ "lmsw %si", P32, SYS(LMSW, 0, RSI),
	  B(0x0f, 0x01, 0xf6) },
	{ "lmsw 0x12345678", P32, LMSW_MEM,
	  B(0x0f, 0x01, 0x35, 0x78, 0x56, 0x34, 0x12) },
	{ "lmsw (%bx)", P32, LMSW_MEM,
	  B(0x67, 0x0f, 0x01, 0x37) },
	{ "lmsw 0x1234", P32, LMSW_MEM,
	  B(0x67, 0x0f, 0x01, 0x36, 0x34, 0x12) },
	{ "mov %eax,%cr0", R16, SYS(CR_WRITE, 0, RAX),
	  B(0x0f, 0x22, 0xc0) },
	{ "data32 mov %cr0,%eax", R16, SYS(CR_READ, 0, RAX),
	  B(0x66, 0x0f, 0x20, 0xc0) },
	{ "clts", R16, SYS(CLTS, 0, 0),
	  B(0x0f, 0x06) },
	{ "lmsw (%bx)", R16, LMSW_MEM,
	  B(0x0f, 0x01, 0x37) },
	{ "lmsw 0x1234", R16, LMSW_MEM,
	  B(0x0f, 0x01, 0x36, 0x34, 0x12) },
	{ "lmsw 0x1234(%bp,%si)", R16, LMSW_MEM,
	  B(0x0f, 0x01, 0xb2, 0x34, 0x12) },
	/* the rest of group 7, and other instructions */
	{ "smsw %eax", L64, BAD, B(0x0f, 0x01, 0xe0) },
	{ "swapgs", L64, BAD, B(0x0f, 0x01, 0xf8) },
	{ "invlpg (%rax)", L64, BAD, B(0x0f, 0x01, 0x38) },
	{ "lgdt (%rax)", L64, BAD, B(0x0f, 0x01, 0x10) },
	{ "cpuid", L64, BAD, B(0x0f, 0xa2) },
	{ "mov (%rax),%ds", L64, BAD, B(0x8e, 0x18) },
	{ "0f 24 (mov %tr, not in 64-bit mode)", L64, BAD,
	  B(0x0f, 0x24, 0xc0) },
	{ "inc %ecx mov %eax,%cr4", P32, BAD, B(0x41, 0x0f, 0x22, 0xe0) },
	{ "16 bytes: 13 x cs mov %rax,%cr0", L64, BAD,
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x0f, 0x22, 0xc0) },
	{ "16 bytes: 11 x cs lmsw 0x10(%rsp)", L64, BAD,
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	    0x2e, 0x2e, 0x2e, 0x0f, 0x01, 0x74, 0x24, 0x10) },
};

static void check_sysreg(struct __test_metadata *_metadata,
			 const struct sysreg_case *c, enum mkvm_cpu_mode mode)
{
	const char *m = mode_name(mode);
	struct mkvm_sysreg_insn si;
	unsigned int avail;
	u8 buf[32];
	int ret;

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, c->bytes, c->n);
	memset(&si, 0xa5, sizeof(si));
	ret = mkvm_insn_decode_sysreg(buf, sizeof(buf), mode, &si);
	EXPECT_EQ(c->ret, ret) TH_LOG("%s: %s", m, c->text);
	if (c->ret) {
		ret = mkvm_insn_decode_sysreg(c->bytes, c->n, mode, &si);
		EXPECT_EQ(c->ret, ret) TH_LOG("%s: %s (exact)", m, c->text);
		return;
	}
	if (ret)
		return;
	EXPECT_EQ(c->n, si.len) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->op, si.op) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->reg, si.reg) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->gpr, si.gpr) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->mem, si.mem) TH_LOG("%s: %s", m, c->text);
	EXPECT_FALSE(si.has_msw) TH_LOG("%s: %s", m, c->text);

	for (avail = 0; avail <= c->n; avail++) {
		u8 *exact = malloc(avail);

		ASSERT_TRUE(exact || !avail);
		memcpy(exact, c->bytes, avail);
		ret = mkvm_insn_decode_sysreg(exact, avail, mode, &si);
		free(exact);
		EXPECT_EQ(avail < c->n ? -EAGAIN : 0, ret)
			TH_LOG("%s: %s, %u bytes", m, c->text, avail);
	}
}

TEST(decode_sysreg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sysreg_cases); i++) {
		check_sysreg(_metadata, &sysreg_cases[i], sysreg_cases[i].mode);
		if (sysreg_cases[i].mode == MKVM_MODE_REAL)
			check_sysreg(_metadata, &sysreg_cases[i],
				     MKVM_MODE_PROT16);
	}
	TH_LOG("%zu encodings", ARRAY_SIZE(sysreg_cases));
}

/*
 * The MOV decoder and the others read the same prefixes: what one
 * reports for a MOV with every prefix the other must see too.
 */
TEST(decode_head_agrees)
{
	static const u8 mov[] = {	/* mov %r8w,%fs:0x10(%ebx) */
		0x64, 0x67, 0x66, 0x44, 0x89, 0x43, 0x10,
	};
	struct mkvm_insn_head h;
	struct mkvm_insn insn;

	ASSERT_EQ(0, mkvm_insn_decode(mov, sizeof(mov), L64, &insn));
	ASSERT_EQ(0, mkvm_insn_decode_head(mov, sizeof(mov), L64, &h));
	EXPECT_EQ(insn.asize, h.asize);
	EXPECT_EQ(insn.size, h.osize);
	EXPECT_EQ(insn.seg, h.seg);
	EXPECT_EQ(R8, insn.reg);
	EXPECT_EQ(4, h.nr_prefixes);
	EXPECT_EQ(0x89, h.opcode);
}

/* Distinct bytes in every register: 0x80706050403020{10+i} for GPR i. */
static void fill_gprs(u64 *gprs)
{
	int i;

	for (i = 0; i < MKVM_NR_GPRS; i++)
		gprs[i] = 0x8070605040302010ULL + i * 0x0101010101010101ULL;
}

static const struct decode_case load_cases[] = {
	{ "mov (%rax),%al", L64, LOADV(0xaa, RAX, 0x80706050403020aa),
	  B(0x8a, 0x00) },
	{ "mov (%rax),%ah", L64, LOADV(0xaa, RAX, 0x807060504030aa10),
	  B(0x8a, 0x20) },
	{ "mov (%rax),%bh", L64, LOADV(0xaa, RBX, 0x837363534333aa13),
	  B(0x8a, 0x38) },
	{ "mov (%rax),%spl", L64, LOADV(0xaa, RSP, 0x84746454443424aa),
	  B(0x40, 0x8a, 0x20) },
	{ "mov (%rax),%dil", L64, LOADV(0xaa, RDI, 0x87776757473727aa),
	  B(0x40, 0x8a, 0x38) },
	{ "mov (%rax),%r15b", L64, LOADV(0xaa, R15, 0x8f7f6f5f4f3f2faa),
	  B(0x44, 0x8a, 0x38) },
	{ "mov (%rax),%cx", L64, LOADV(0xbbaa, RCX, 0x817161514131bbaa),
	  B(0x66, 0x8b, 0x08) },
	{ "mov (%rax),%r11w", L64, LOADV(0xbbaa, R11, 0x8b7b6b5b4b3bbbaa),
	  B(0x66, 0x44, 0x8b, 0x18) },
	{ "mov (%rax),%ecx", L64, LOADV(0xddccbbaa, RCX, 0x00000000ddccbbaa),
	  B(0x8b, 0x08) },
	{ "mov (%rax),%r10d", L64, LOADV(0xddccbbaa, R10, 0x00000000ddccbbaa),
	  B(0x44, 0x8b, 0x10) },
	{ "mov (%rax),%rcx", L64,
	  LOADV(0x1122334455667788, RCX, 0x1122334455667788),
	  B(0x48, 0x8b, 0x08) },
	{ "mov (%r8),%r9", L64,
	  LOADV(0xfedcba9876543210, R9, 0xfedcba9876543210),
	  B(0x4d, 0x8b, 0x08) },
	{ "movabs 0x1122334455667788,%al", L64,
	  LOADV(0x55, RAX, 0x8070605040302055),
	  B(0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs 0x1122334455667788,%ax", L64,
	  LOADV(0x5555, RAX, 0x8070605040305555),
	  B(0x66, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movabs 0x1122334455667788,%eax", L64,
	  LOADV(0x12345678, RAX, 0x0000000012345678),
	  B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs 0x1122334455667788,%rax", L64,
	  LOADV(0x8000000000000001, RAX, 0x8000000000000001),
	  B(0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movzbl (%rax),%ecx", L64, LOADV(0x80, RCX, 0x0000000000000080),
	  B(0x0f, 0xb6, 0x08) },
	{ "movzbw (%rax),%cx", L64, LOADV(0x80, RCX, 0x8171615141310080),
	  B(0x66, 0x0f, 0xb6, 0x08) },
	{ "movzbq (%rax),%rcx", L64, LOADV(0xff, RCX, 0x00000000000000ff),
	  B(0x48, 0x0f, 0xb6, 0x08) },
	{ "movzbl (%rax),%esp", L64, LOADV(0x80, RSP, 0x0000000000000080),
	  B(0x0f, 0xb6, 0x20) },
	{ "movzwl (%rax),%ecx", L64, LOADV(0x8000, RCX, 0x0000000000008000),
	  B(0x0f, 0xb7, 0x08) },
	{ "movzwq (%rax),%r10", L64, LOADV(0xffff, R10, 0x000000000000ffff),
	  B(0x4c, 0x0f, 0xb7, 0x10) },
	{ "movzww (%rax),%ax", L64, LOADV(0xbeef, RAX, 0x807060504030beef),
	  B(0x66, 0x0f, 0xb7, 0x00) },
	{ "movsbl (%rax),%ecx", L64, LOADV(0x80, RCX, 0x00000000ffffff80),
	  B(0x0f, 0xbe, 0x08) },
	{ "movsbl (%rax),%ecx", L64, LOADV(0x7f, RCX, 0x000000000000007f),
	  B(0x0f, 0xbe, 0x08) },
	{ "movsbw (%rax),%cx", L64, LOADV(0x80, RCX, 0x817161514131ff80),
	  B(0x66, 0x0f, 0xbe, 0x08) },
	{ "movsbq 0x10(%rsp),%r8", L64, LOADV(0x80, R8, 0xffffffffffffff80),
	  B(0x4c, 0x0f, 0xbe, 0x44, 0x24, 0x10) },
	{ "movswl (%rax),%edi", L64, LOADV(0x8000, RDI, 0x00000000ffff8000),
	  B(0x0f, 0xbf, 0x38) },
	{ "movswq 0x12345678(%rbx,%rcx,2),%rsi", L64,
	  LOADV(0x8001, RSI, 0xffffffffffff8001),
	  B(0x48, 0x0f, 0xbf, 0xb4, 0x4b, 0x78, 0x56, 0x34,
	    0x12) },
	{ "movswq 0x12345678(%rbx,%rcx,2),%rsi", L64,
	  LOADV(0x7fff, RSI, 0x0000000000007fff),
	  B(0x48, 0x0f, 0xbf, 0xb4, 0x4b, 0x78, 0x56, 0x34,
	    0x12) },
	{ "movslq (%rax),%rcx", L64, LOADV(0x80000000, RCX, 0xffffffff80000000),
	  B(0x48, 0x63, 0x08) },
	{ "movslq 0x10(%rsp),%r9", L64,
	  LOADV(0x7fffffff, R9, 0x000000007fffffff),
	  B(0x4c, 0x63, 0x4c, 0x24, 0x10) },
	{ "mov (%eax),%ecx", P32, LOADV(0xddccbbaa, RCX, 0x00000000ddccbbaa),
	  B(0x8b, 0x08) },
	{ "mov (%eax),%cx", P32, LOADV(0xbbaa, RCX, 0x817161514131bbaa),
	  B(0x66, 0x8b, 0x08) },
	{ "mov (%eax),%ah", P32, LOADV(0xaa, RAX, 0x807060504030aa10),
	  B(0x8a, 0x20) },
	{ "movsbw 0x12345678,%dx", P32, LOADV(0xfe, RDX, 0x827262524232fffe),
	  B(0x66, 0x0f, 0xbe, 0x15, 0x78, 0x56, 0x34, 0x12) },
	{ "movswl (%bx,%di),%eax", P32, LOADV(0x8000, RAX, 0x00000000ffff8000),
	  B(0x67, 0x0f, 0xbf, 0x01) },
	{ "mov (%bx),%ax", R16, LOADV(0xbbaa, RAX, 0x807060504030bbaa),
	  B(0x8b, 0x07) },
	{ "mov (%si),%ah", R16, LOADV(0xaa, RAX, 0x807060504030aa10),
	  B(0x8a, 0x24) },
	{ "mov (%bx),%eax", R16, LOADV(0xddccbbaa, RAX, 0x00000000ddccbbaa),
	  B(0x66, 0x8b, 0x07) },
	{ "movzbw (%bx),%ax", R16, LOADV(0x80, RAX, 0x8070605040300080),
	  B(0x0f, 0xb6, 0x07) },
	{ "movzbl (%bx),%eax", R16, LOADV(0x80, RAX, 0x0000000000000080),
	  B(0x66, 0x0f, 0xb6, 0x07) },
	{ "movsbw (%bx),%ax", R16, LOADV(0x80, RAX, 0x807060504030ff80),
	  B(0x0f, 0xbe, 0x07) },
	{ "movswl 0x1234,%ecx", R16, LOADV(0x8000, RCX, 0x00000000ffff8000),
	  B(0x66, 0x0f, 0xbf, 0x0e, 0x34, 0x12) },
	/* bits above the access size in @data are ignored */
	{ "mov (%rax),%al", L64,
	  LOADV(0xffffffffffffff55, RAX, 0x8070605040302055),
	  B(0x8a, 0x00) },
	{ "mov (%rax),%ecx", L64,
	  LOADV(0xffffffff00000001, RCX, 0x0000000000000001),
	  B(0x8b, 0x08) },
	{ "movsbl (%rax),%ecx", L64, LOADV(0x12345680, RCX, 0x00000000ffffff80),
	  B(0x0f, 0xbe, 0x08) },
	{ "movzwq (%rax),%r10", L64,
	  LOADV(0x1234567800001234, R10, 0x0000000000001234),
	  B(0x4c, 0x0f, 0xb7, 0x10) },
};

TEST(complete_load)
{
	u64 gprs[MKVM_NR_GPRS], before[MKVM_NR_GPRS];
	const struct decode_case *c;
	struct mkvm_insn insn;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(load_cases); i++) {
		c = &load_cases[i];
		ASSERT_EQ(0, mkvm_insn_decode(c->bytes, c->n, c->mode, &insn))
			TH_LOG("%s", c->text);
		ASSERT_EQ(MKVM_INSN_LOAD, insn.kind) TH_LOG("%s", c->text);
		fill_gprs(gprs);
		fill_gprs(before);
		mkvm_insn_complete_load(&insn, gprs, c->data);
		for (r = 0; r < MKVM_NR_GPRS; r++) {
			EXPECT_EQ(r == c->reg ? c->want : before[r], gprs[r])
				TH_LOG("%s <- %#llx: GPR %d", c->text,
				       (unsigned long long)c->data, r);
		}
	}
	TH_LOG("%zu loads", ARRAY_SIZE(load_cases));
}

static const struct decode_case store_cases[] = {
	{ "mov %al,(%rbx)", L64, STOREV(0x10),
	  B(0x88, 0x03) },
	{ "mov %ah,(%rbx)", L64, STOREV(0x20),
	  B(0x88, 0x23) },
	{ "mov %dh,0x10(%rbx)", L64, STOREV(0x22),
	  B(0x88, 0x73, 0x10) },
	{ "mov %bh,(%rsp)", L64, STOREV(0x23),
	  B(0x88, 0x3c, 0x24) },
	{ "mov %sil,(%rbx)", L64, STOREV(0x16),
	  B(0x40, 0x88, 0x33) },
	{ "mov %dil,(%rbx)", L64, STOREV(0x17),
	  B(0x40, 0x88, 0x3b) },
	{ "mov %r9b,(%rbx)", L64, STOREV(0x19),
	  B(0x44, 0x88, 0x0b) },
	{ "mov %bpl,(%r11)", L64, STOREV(0x15),
	  B(0x41, 0x88, 0x2b) },
	{ "mov %ax,(%rbx)", L64, STOREV(0x2010),
	  B(0x66, 0x89, 0x03) },
	{ "mov %eax,(%rbx)", L64, STOREV(0x40302010),
	  B(0x89, 0x03) },
	{ "mov %rax,(%rbx)", L64, STOREV(0x8070605040302010),
	  B(0x48, 0x89, 0x03) },
	{ "mov %r12,(%rbx)", L64, STOREV(0x8c7c6c5c4c3c2c1c),
	  B(0x4c, 0x89, 0x23) },
	{ "mov %r12d,0x40(%rip)", L64, STOREV(0x4c3c2c1c),
	  B(0x44, 0x89, 0x25, 0x40, 0x00, 0x00, 0x00) },
	{ "mov %r15w,0x12345678(%r8,%r9,4)", L64, STOREV(0x2f1f),
	  B(0x66, 0x47, 0x89, 0xbc, 0x88, 0x78, 0x56, 0x34,
	    0x12) },
	{ "mov %esp,(%rbx)", L64, STOREV(0x44342414),
	  B(0x89, 0x23) },
	{ "movabs %al,0x1122334455667788", L64, STOREV(0x10),
	  B(0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs %ax,0x1122334455667788", L64, STOREV(0x2010),
	  B(0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movabs %eax,0x1122334455667788", L64, STOREV(0x40302010),
	  B(0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	    0x11) },
	{ "movabs %rax,0x1122334455667788", L64, STOREV(0x8070605040302010),
	  B(0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
	    0x22, 0x11) },
	{ "movb $0xff,0x10(%rbx)", L64, STOREV(0xff),
	  B(0xc6, 0x43, 0x10, 0xff) },
	{ "movw $0xfedc,0x8(%rsp)", L64, STOREV(0xfedc),
	  B(0x66, 0xc7, 0x44, 0x24, 0x08, 0xdc, 0xfe) },
	{ "movl $0x87654321,(%rax)", L64, STOREV(0x87654321),
	  B(0xc7, 0x00, 0x21, 0x43, 0x65, 0x87) },
	{ "movq $0x12345678,(%rax)", L64, STOREV(0x12345678),
	  B(0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12) },
	{ "movq $-1,(%rax)", L64, STOREV(0xffffffffffffffff),
	  B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff) },
	{ "movq $0xffffffff87654321,(%rax)", L64, STOREV(0xffffffff87654321),
	  B(0x48, 0xc7, 0x00, 0x21, 0x43, 0x65, 0x87) },
	{ "movq $0x7fffffff,0x12345678(%r12,%r13,8)", L64, STOREV(0x7fffffff),
	  B(0x4b, 0xc7, 0x84, 0xec, 0x78, 0x56, 0x34, 0x12,
	    0xff, 0xff, 0xff, 0x7f) },
	{ "rex.WR movq $0x12345678,(%rax)", L64, STOREV(0x12345678),
	  B(0x4c, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12) },
	{ "mov %ch,(%ebx)", P32, STOREV(0x21),
	  B(0x88, 0x2b) },
	{ "mov %dx,0x10(%ebx,%ecx,4)", P32, STOREV(0x2212),
	  B(0x66, 0x89, 0x54, 0x8b, 0x10) },
	{ "mov %eax,(%ebx)", P32, STOREV(0x40302010),
	  B(0x89, 0x03) },
	{ "movl $0x87654321,0x10(%esp,%ecx,8)", P32, STOREV(0x87654321),
	  B(0xc7, 0x44, 0xcc, 0x10, 0x21, 0x43, 0x65, 0x87) },
	{ "mov %bh,(%di)", R16, STOREV(0x23),
	  B(0x88, 0x3d) },
	{ "mov %ax,(%bx)", R16, STOREV(0x2010),
	  B(0x89, 0x07) },
	{ "mov %eax,0x20(%bx,%si)", R16, STOREV(0x40302010),
	  B(0x66, 0x89, 0x40, 0x20) },
	{ "movw $0x1234,0x10(%bx)", R16, STOREV(0x1234),
	  B(0xc7, 0x47, 0x10, 0x34, 0x12) },
	{ "movl $0x12345678,(%bx)", R16, STOREV(0x12345678),
	  B(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12) },
};

TEST(store_value)
{
	u64 gprs[MKVM_NR_GPRS], before[MKVM_NR_GPRS];
	const struct decode_case *c;
	struct mkvm_insn insn;
	size_t i;

	fill_gprs(before);
	for (i = 0; i < ARRAY_SIZE(store_cases); i++) {
		c = &store_cases[i];
		ASSERT_EQ(0, mkvm_insn_decode(c->bytes, c->n, c->mode, &insn))
			TH_LOG("%s", c->text);
		ASSERT_EQ(MKVM_INSN_STORE, insn.kind) TH_LOG("%s", c->text);
		fill_gprs(gprs);
		EXPECT_EQ(c->want, mkvm_insn_store_value(&insn, gprs))
			TH_LOG("%s", c->text);
		EXPECT_EQ(0, memcmp(gprs, before, sizeof(gprs)))
			TH_LOG("%s changed a register", c->text);
	}
	TH_LOG("%zu stores", ARRAY_SIZE(store_cases));
}

/*
 * The memory operand's segment and effective address, with the registers
 * below and RIP at EA_RIP64 (64-bit rows) or EA_RIP (the others).  The
 * bytes come from GNU as like the tables above; the expected addresses
 * were worked out by hand, including the wraps at the address size.
 */
#define EA_RIP64	0x401000ULL
#define EA_RIP		0x1000ULL

static const u64 ea_gprs[MKVM_NR_GPRS] = {
	[RAX] = 0x1111222233334444ULL, [RCX] = 0x10, [RDX] = 0x20,
	[RBX] = 0x2000, [RSP] = 0x7ff0, [RBP] = 0x9000, [RSI] = 0x300,
	[RDI] = 0x400, [R8] = 0x8000000000000000ULL, [R12] = 0xc000,
	[R13] = 0xd000, [R14] = 0xe0, [R15] = 0xf,
};

struct ea_case {
	const char *text;
	enum mkvm_cpu_mode mode;
	u8 seg;
	u64 ea;
	u8 n;
	u8 bytes[16];
};

#define ES	MKVM_SEG_ES
#define CS	MKVM_SEG_CS
#define SS	MKVM_SEG_SS
#define DS	MKVM_SEG_DS
#define FS	MKVM_SEG_FS
#define GS	MKVM_SEG_GS

static const struct ea_case ea_cases[] = {
	{ "mov (%rax),%ecx", L64, DS, 0x1111222233334444ULL,
	  B(0x8b, 0x08) },
	{ "mov 0x10(%rsp),%edx", L64, SS, 0x8000,
	  B(0x8b, 0x54, 0x24, 0x10) },
	{ "mov -0x80(%rbp),%esi", L64, SS, 0x8f80,
	  B(0x8b, 0x75, 0x80) },
	{ "mov 0x0(%r13),%eax", L64, DS, 0xd000,
	  B(0x41, 0x8b, 0x45, 0x00) },
	{ "mov (%r12),%eax", L64, DS, 0xc000,
	  B(0x41, 0x8b, 0x04, 0x24) },
	{ "mov 0x8(%rax,%rbx,4),%esi", L64, DS, 0x111122223333c44cULL,
	  B(0x8b, 0x74, 0x98, 0x08) },
	{ "mov 0x12345678(,%rbx,8),%edi", L64, DS, 0x12355678,
	  B(0x8b, 0x3c, 0xdd, 0x78, 0x56, 0x34, 0x12) },
	{ "mov -0x10(,%r12,2),%edi", L64, DS, 0x17ff0,
	  B(0x42, 0x8b, 0x3c, 0x65, 0xf0, 0xff, 0xff, 0xff) },
	{ "mov 0x80(%r13,%r14,2),%r15", L64, DS, 0xd240,
	  B(0x4f, 0x8b, 0xbc, 0x75, 0x80, 0x00, 0x00, 0x00) },
	{ "mov (%rsp,%rbp,1),%eax", L64, SS, 0x10ff0,
	  B(0x8b, 0x04, 0x2c) },
	{ "mov (%r8,%r8,1),%eax", L64, DS, 0,
	  B(0x43, 0x8b, 0x04, 0x00) },
	{ "mov 0x12345678(%rip),%eax", L64, DS, 0x1274667e,
	  B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "mov -0x10(%rip),%eax", L64, DS, 0x400ff6,
	  B(0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff) },
	{ "movl $0x1234,0x10(%rip)", L64, DS, 0x40101a,
	  B(0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00) },
	{ "mov 0x12345678,%eax", L64, DS, 0x12345678,
	  B(0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0xfffffffffffffff0,%eax", L64, DS, 0xfffffffffffffff0ULL,
	  B(0x8b, 0x04, 0x25, 0xf0, 0xff, 0xff, 0xff) },
	{ "mov (%eax),%ecx", L64, DS, 0x33334444,
	  B(0x67, 0x8b, 0x08) },
	{ "mov 0x10(%esp),%ecx", L64, SS, 0x8000,
	  B(0x67, 0x8b, 0x4c, 0x24, 0x10) },
	{ "mov 0x12345678(%eip),%eax", L64, DS, 0x1274667f,
	  B(0x67, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "movabs 0x1122334455667788,%eax", L64, DS, 0x1122334455667788ULL,
	  B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11) },
	{ "addr32 mov 0x99887766,%al", L64, DS, 0x99887766,
	  B(0x67, 0xa0, 0x66, 0x77, 0x88, 0x99) },
	{ "mov %fs:(%rax),%ecx", L64, FS, 0x1111222233334444ULL,
	  B(0x64, 0x8b, 0x08) },
	{ ".byte 0x64,0x65,0x8b,0x08 (the last override wins)", L64, GS,
	  0x1111222233334444ULL, B(0x64, 0x65, 0x8b, 0x08) },
	{ "movl $0x1,%gs:0x10(%rbp)", L64, GS, 0x9010,
	  B(0x65, 0xc7, 0x45, 0x10, 0x01, 0x00, 0x00, 0x00) },
	{ "es mov (%rsp),%al", L64, ES, 0x7ff0,
	  B(0x26, 0x8a, 0x04, 0x24) },
	{ "ss mov (%rbx),%r8", L64, SS, 0x2000,
	  B(0x36, 0x4c, 0x8b, 0x03) },
	{ "movzbl (%rsi,%rdi,1),%eax", L64, DS, 0x700,
	  B(0x0f, 0xb6, 0x04, 0x3e) },
	{ "movl $0x1234,0x10(%rbx)", L64, DS, 0x2010,
	  B(0xc7, 0x43, 0x10, 0x34, 0x12, 0x00, 0x00) },
	{ "movq $-1,-0x8(%rbx,%rcx,8)", L64, DS, 0x2078,
	  B(0x48, 0xc7, 0x44, 0xcb, 0xf8, 0xff, 0xff, 0xff, 0xff) },

	{ "mov 0x10(%ebx),%ecx", P32, DS, 0x2010,
	  B(0x8b, 0x4b, 0x10) },
	{ "mov 0x0(%ebp),%eax", P32, SS, 0x9000,
	  B(0x8b, 0x45, 0x00) },
	{ "mov 0x12345678,%eax (a1)", P32, DS, 0x12345678,
	  B(0xa1, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x12345678,%eax (8b 05: absolute, not EIP-relative)", P32, DS,
	  0x12345678, B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12) },
	{ "mov 0x4(%eax,%ecx,8),%edx", P32, DS, 0x333344c8,
	  B(0x8b, 0x54, 0xc8, 0x04) },
	{ "mov -0x8000(%esp),%eax", P32, SS, 0xfffffff0,
	  B(0x8b, 0x84, 0x24, 0x00, 0x80, 0xff, 0xff) },
	{ "mov %cs:(%eax),%ebx", P32, CS, 0x33334444,
	  B(0x2e, 0x8b, 0x18) },
	{ "mov 0x1234(%bx,%si),%ax", P32, DS, 0x3534,
	  B(0x67, 0x66, 0x8b, 0x80, 0x34, 0x12) },
	{ "mov 0x12345678,%al", P32, DS, 0x12345678,
	  B(0xa0, 0x78, 0x56, 0x34, 0x12) },
	{ "movsbl %gs:-0x1(%edi,%esi,2),%ecx", P32, GS, 0x9ff,
	  B(0x65, 0x0f, 0xbe, 0x4c, 0x77, 0xff) },

	{ "mov (%bx,%si),%ax", R16, DS, 0x2300, B(0x8b, 0x00) },
	{ "mov (%bx,%di),%ax", R16, DS, 0x2400, B(0x8b, 0x01) },
	{ "mov (%bp,%si),%ax", R16, SS, 0x9300, B(0x8b, 0x02) },
	{ "mov (%bp,%di),%ax", R16, SS, 0x9400, B(0x8b, 0x03) },
	{ "mov (%si),%ax", R16, DS, 0x300, B(0x8b, 0x04) },
	{ "mov (%di),%ax", R16, DS, 0x400, B(0x8b, 0x05) },
	{ "mov 0x10(%bp),%ax", R16, SS, 0x9010, B(0x8b, 0x46, 0x10) },
	{ "mov (%bx),%ax", R16, DS, 0x2000, B(0x8b, 0x07) },
	{ "mov 0x1234,%ax (a1)", R16, DS, 0x1234, B(0xa1, 0x34, 0x12) },
	{ "mov 0x1234,%ax (8b 06)", R16, DS, 0x1234,
	  B(0x8b, 0x06, 0x34, 0x12) },
	{ "mov -0x3000(%bx,%si),%ax", R16, DS, 0xf300,
	  B(0x8b, 0x80, 0x00, 0xd0) },
	{ "mov -0x2(%bp,%di),%al", R16, SS, 0x93fe, B(0x8a, 0x43, 0xfe) },
	{ "mov %ss:(%bx),%ax", R16, SS, 0x2000, B(0x36, 0x8b, 0x07) },
	{ "mov %ds:0x0(%bp),%ax", R16, DS, 0x9000,
	  B(0x3e, 0x8b, 0x46, 0x00) },
	{ "mov (%eax,%ecx,2),%ax", R16, DS, 0x33334464,
	  B(0x67, 0x8b, 0x04, 0x48) },
	{ "mov 0x1234,%al", R16, DS, 0x1234, B(0xa0, 0x34, 0x12) },
	{ "movw $0x55,%es:0x10(%di)", R16, ES, 0x410,
	  B(0x26, 0xc7, 0x45, 0x10, 0x55, 0x00) },
};

static void check_ea(struct __test_metadata *_metadata,
		     const struct ea_case *c, enum mkvm_cpu_mode mode)
{
	u64 rip = mode == L64 ? EA_RIP64 : EA_RIP;
	const char *m = mode_name(mode);
	u64 gprs[MKVM_NR_GPRS];
	struct mkvm_insn insn;

	ASSERT_EQ(0, mkvm_insn_decode(c->bytes, c->n, mode, &insn))
		TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->n, insn.len) TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(c->seg, insn.seg) TH_LOG("%s: %s", m, c->text);
	memcpy(gprs, ea_gprs, sizeof(gprs));
	EXPECT_EQ(c->ea, mkvm_insn_ea(&insn, gprs, rip))
		TH_LOG("%s: %s", m, c->text);
	EXPECT_EQ(0, memcmp(gprs, ea_gprs, sizeof(gprs)))
		TH_LOG("%s: %s changed a register", m, c->text);
}

TEST(effective_address)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ea_cases); i++) {
		check_ea(_metadata, &ea_cases[i], ea_cases[i].mode);
		if (ea_cases[i].mode == MKVM_MODE_REAL)
			check_ea(_metadata, &ea_cases[i], MKVM_MODE_PROT16);
	}
	TH_LOG("%zu operands", ARRAY_SIZE(ea_cases));
}

/*
 * Page walks.  Architectural bit values are spelled out here rather than
 * taken from the headers emulate.c uses, so that a wrong stand-in header
 * shows up as a failure.
 */
#define CR0_PE		(1ULL << 0)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_LA57	(1ULL << 12)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define RFLAGS_AC	(1ULL << 18)
#define EFER_LME_	(1ULL << 8)
#define EFER_LMA_	(1ULL << 10)
#define EFER_NXE_	(1ULL << 11)

#define P		(1ULL << 0)
#define W		(1ULL << 1)
#define U		(1ULL << 2)
#define PWT_PCD		(3ULL << 3)
#define AD		(3ULL << 5)
#define PS		(1ULL << 7)
#define PAT_LARGE	(1ULL << 12)
#define NX		(1ULL << 63)

#define RD		0
#define WR		MKVM_WALK_WRITE
#define USR		MKVM_WALK_USER
#define EXEC		MKVM_WALK_FETCH

#define MEM_SIZE	0x10000

struct guest_mem {
	u8 bytes[MEM_SIZE];
	unsigned int reads;
};

/*
 * Page-table entries are naturally aligned; from NO_MEM for 64 KiB there
 * is no memory (-ENXIO: MMIO, as vcpu.c reports it), and anything else
 * outside MEM_SIZE is -EIO.
 */
#define NO_MEM		0x20000000

static int read_gpa(void *ctx, u64 gpa, void *buf, unsigned int size)
{
	struct guest_mem *mem = ctx;

	if ((size != 4 && size != 8) || gpa % size)
		return -EINVAL;
	if (gpa >= NO_MEM && gpa < NO_MEM + MEM_SIZE)
		return -ENXIO;
	if (gpa >= MEM_SIZE)
		return -EIO;
	memcpy(buf, mem->bytes + gpa, size);
	mem->reads++;
	return 0;
}

FIXTURE(walk) {
	struct guest_mem *mem;
	struct mkvm_paging pg;
	struct mkvm_fault fault;	/* of the last walk that faulted */
};

FIXTURE_SETUP(walk)
{
	self->mem = calloc(1, sizeof(*self->mem));
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(walk)
{
	free(self->mem);
}

static void put32(struct guest_mem *mem, u64 gpa, u32 val)
{
	memcpy(mem->bytes + gpa, &val, sizeof(val));
}

static void put64(struct guest_mem *mem, u64 gpa, u64 val)
{
	memcpy(mem->bytes + gpa, &val, sizeof(val));
}

static int walk(FIXTURE_DATA(walk) *self, u64 gva, u32 access, u64 *gpa)
{
	self->mem->reads = 0;
	*gpa = 0xdeadbeef;
	memset(&self->fault, 0xa5, sizeof(self->fault));
	return mkvm_gva_to_gpa(&self->pg, gva, access, read_gpa, self->mem,
			       gpa, &self->fault);
}

/* Translates with @acc to @want, reading @nr entries. */
#define EXPECT_GPA(gva, acc, want, nr) do {				\
	u64 __gpa;							\
	EXPECT_EQ(0, walk(self, gva, acc, &__gpa))			\
		TH_LOG("gva %#llx access %u", (unsigned long long)(gva), \
		       (unsigned int)(acc));				\
	EXPECT_EQ(want, __gpa)						\
		TH_LOG("gva %#llx", (unsigned long long)(gva));		\
	EXPECT_EQ(nr, self->mem->reads)					\
		TH_LOG("gva %#llx", (unsigned long long)(gva));		\
} while (0)

#define EXPECT_WALK_ERR(err, gva, acc) do {				\
	u64 __gpa;							\
	EXPECT_EQ(err, walk(self, gva, acc, &__gpa))			\
		TH_LOG("gva %#llx access %u", (unsigned long long)(gva), \
		       (unsigned int)(acc));				\
} while (0)

#define EXPECT_FAULT(gva, acc)		EXPECT_WALK_ERR(-EFAULT, gva, acc)

TEST_F(walk, paging_off)
{
	self->pg.cr0 = CR0_PE;
	EXPECT_GPA(0x12345678, RD, 0x12345678, 0);
	EXPECT_GPA(0xfffff000, WR | USR | EXEC, 0xfffff000, 0);
	/* Not long mode: the linear address is 32 bits. */
	EXPECT_GPA(0x100000000ULL, RD, 0, 0);
	EXPECT_GPA(0xfedcba9876543210ULL, RD, 0x76543210, 0);
	/* Paging bits mean nothing while CR0.PG is clear. */
	self->pg.cr4 = CR4_PAE | CR4_PSE | CR4_LA57;
	self->pg.efer = EFER_LME_ | EFER_NXE_;
	self->pg.cr3 = 0x1000;
	EXPECT_GPA(0xb8000, WR, 0xb8000, 0);
}

/* 32-bit paging: PD at 0x1000, page tables at 0x2000-0x5000. */
TEST_F(walk, paging32)
{
	struct guest_mem *mem = self->mem;

	self->pg.cr0 = CR0_PE | CR0_PG;
	self->pg.cr3 = 0x1000 | PWT_PCD;
	put32(mem, 0x1000 + 1 * 4, 0x2000 | P | W | U);
	put32(mem, 0x2000 + 3 * 4, 0xabcde000 | P | W | U | AD);
	put32(mem, 0x2000 + 5 * 4, 0xabcdf000 | W | U);
	EXPECT_GPA(0x00403123, RD, 0xabcde123, 2);
	EXPECT_GPA(0x00403fff, WR | USR, 0xabcdefff, 2);
	EXPECT_GPA(0x1200403123ULL, RD, 0xabcde123, 2);
	EXPECT_FAULT(0x00000123, RD);		/* PDE not present */
	EXPECT_FAULT(0x00404000, RD);		/* PTE zero */
	EXPECT_FAULT(0x00405000, RD);		/* PTE without P */
	EXPECT_GPA(0x00403123, EXEC, 0xabcde123, 2);	/* no NX here */

	/* PS without CR4.PSE is ignored: a page table. */
	put32(mem, 0x1000 + 2 * 4, 0x3000 | PS | P | W | U);
	put32(mem, 0x3000 + 0 * 4, 0x77777000 | P);
	EXPECT_GPA(0x00800010, RD, 0x77777010, 2);

	/* 4 MiB pages; PAT (bit 12) is not address; PSE-36 bits 20:13. */
	self->pg.cr4 = CR4_PSE;
	EXPECT_GPA(0x00403345, RD, 0xabcde345, 2);
	put32(mem, 0x1000 + 2 * 4, 0x12c00000 | PS | P | W);
	EXPECT_GPA(0x00912345, WR, 0x12d12345, 1);
	put32(mem, 0x1000 + 3 * 4, 0x40000000 | PAT_LARGE | PS | P);
	EXPECT_GPA(0x00fedcba, RD, 0x403edcba, 1);
	put32(mem, 0x1000 + 3 * 4, 0x40000000 | (0x85 << 13) | PS | P);
	EXPECT_GPA(0x00c01234, RD, 0x8540001234ULL, 1);
	put32(mem, 0x1000 + 4 * 4, 0x01000000 | (1 << 21) | PS | P);
	EXPECT_FAULT(0x01000000, RD);		/* bit 21 reserved */
	EXPECT_FAULT(0x01000000, EXEC);
}

TEST_F(walk, paging32_rights)
{
	struct guest_mem *mem = self->mem;

	self->pg.cr0 = CR0_PE | CR0_PG;
	self->pg.cr3 = 0x1000;
	/* read-only in the PDE, writable in the PTE */
	put32(mem, 0x1000 + 6 * 4, 0x4000 | P | U);
	put32(mem, 0x4000, 0x10000 | P | W | U);
	/* supervisor in the PDE, user in the PTE */
	put32(mem, 0x1000 + 7 * 4, 0x5000 | P | W);
	put32(mem, 0x5000, 0x20000 | P | W | U);

	EXPECT_GPA(0x01800004, RD, 0x10004, 2);
	EXPECT_GPA(0x01800004, WR, 0x10004, 2);	/* CR0.WP = 0 */
	EXPECT_GPA(0x01800004, USR, 0x10004, 2);
	EXPECT_FAULT(0x01800004, USR | WR);
	EXPECT_GPA(0x01c00008, WR, 0x20008, 2);
	EXPECT_FAULT(0x01c00008, USR);
	EXPECT_FAULT(0x01c00008, USR | EXEC);

	self->pg.cr0 |= CR0_WP;
	EXPECT_FAULT(0x01800004, WR);
	EXPECT_GPA(0x01c00008, WR, 0x20008, 2);

	/* SMEP: no supervisor fetch from a user page */
	EXPECT_GPA(0x01800004, EXEC, 0x10004, 2);
	self->pg.cr4 = CR4_SMEP;
	EXPECT_FAULT(0x01800004, EXEC);
	EXPECT_GPA(0x01800004, USR | EXEC, 0x10004, 2);
	EXPECT_GPA(0x01800004, RD, 0x10004, 2);
	EXPECT_GPA(0x01c00008, EXEC, 0x20008, 2);
}

/* PAE: PDPT at 0x1020 (32-byte aligned), PDs at 0x2000/0x3000, PT 0x4000. */
TEST_F(walk, pae)
{
	struct guest_mem *mem = self->mem;

	self->pg.cr0 = CR0_PE | CR0_PG;
	self->pg.cr4 = CR4_PAE;
	self->pg.cr3 = 0x1020;
	put64(mem, 0x1020 + 0 * 8, 0x2000 | PWT_PCD | P);
	put64(mem, 0x1020 + 3 * 8, 0x3000 | P);
	put64(mem, 0x2000 + 1 * 8, 0x4000 | P | W | U);
	put64(mem, 0x4000 + 1 * 8, 0x123456000ULL | P | W | U | AD);
	EXPECT_GPA(0x00201abc, RD, 0x123456abcULL, 3);
	/* The PDPTE has no R/W or U/S bits: the PDE and PTE decide. */
	EXPECT_GPA(0x00201abc, USR | WR, 0x123456abcULL, 3);
	EXPECT_GPA(0xff00201abcULL, RD, 0x123456abcULL, 3);
	EXPECT_FAULT(0x40000000, RD);		/* PDPTE not present */
	EXPECT_FAULT(0x00001000, RD);		/* PDE not present */
	EXPECT_FAULT(0x00202000, RD);		/* PTE not present */

	/* 2 MiB pages */
	put64(mem, 0x3000 + 0 * 8, 0x400200000ULL | PS | P | W);
	put64(mem, 0x3000 + 1 * 8, 0x400400000ULL | PAT_LARGE | PS | P);
	put64(mem, 0x3000 + 2 * 8, 0x400600000ULL | (1 << 13) | PS | P);
	put64(mem, 0x3000 + 3 * 8, 0x400800000ULL | (1 << 20) | PS | P);
	EXPECT_GPA(0xc0012345, WR, 0x400212345ULL, 2);
	EXPECT_GPA(0xc0212345, RD, 0x400412345ULL, 2);
	EXPECT_FAULT(0xc0412345, RD);		/* bit 13 reserved */
	EXPECT_FAULT(0xc0612345, RD);		/* bit 20 reserved */
	EXPECT_FAULT(0xc0012345, USR);

	/*
	 * Reserved bits of PDPTEs: 2:1, 63:52 (even NX).  8:5 are reserved
	 * on Intel only; AMD sets the accessed bit 5 there.
	 */
	put64(mem, 0x1020 + 1 * 8, 0x2000 | W | P);
	EXPECT_FAULT(0x40201abc, RD);
	put64(mem, 0x1020 + 1 * 8, 0x2000 | (1 << 5) | P);
	EXPECT_GPA(0x40201abc, RD, 0x123456abcULL, 3);
	put64(mem, 0x1020 + 1 * 8, 0x2000 | NX | P);
	self->pg.efer = EFER_NXE_;
	EXPECT_FAULT(0x40201abc, RD);
	put64(mem, 0x1020 + 1 * 8, 0x2000 | P);
	EXPECT_GPA(0x40201abc, RD, 0x123456abcULL, 3);

	/* 62:52 are reserved in PAE PDEs and PTEs (51:M too, not checked) */
	put64(mem, 0x4000 + 2 * 8, (1ULL << 52) | 0x5000 | P);
	put64(mem, 0x4000 + 4 * 8, (1ULL << 62) | 0x5000 | P);
	EXPECT_FAULT(0x00202000, RD);
	EXPECT_FAULT(0x00204000, RD);

	/* NX: reserved without EFER.NXE, no fetch with it */
	put64(mem, 0x4000 + 3 * 8, NX | 0x6000 | P | W | U);
	EXPECT_GPA(0x00203008, RD, 0x6008, 3);
	EXPECT_GPA(0x00203008, USR | WR, 0x6008, 3);
	EXPECT_FAULT(0x00203008, EXEC);
	EXPECT_FAULT(0x00203008, USR | EXEC);
	EXPECT_GPA(0x00201abc, EXEC, 0x123456abcULL, 3);
	self->pg.efer = 0;
	EXPECT_FAULT(0x00203008, RD);
	put64(mem, 0x3000 + 4 * 8, NX | 0x400a00000ULL | PS | P);
	EXPECT_FAULT(0xc0800000, RD);
	self->pg.efer = EFER_NXE_;
	EXPECT_GPA(0xc0800000, RD, 0x400a00000ULL, 2);
	EXPECT_FAULT(0xc0800000, EXEC);
}

/*
 * 4-level: CR3 0x1000 (with PCID bits); the kernel half maps through
 * PDPT 0x2000, PD 0x3000, PT 0x4000.
 */
#define KVA(pdpt, pd, pt) (0xffff800000000000ULL | (u64)(pdpt) << 30 | \
			   (u64)(pd) << 21 | (u64)(pt) << 12)

TEST_F(walk, long4)
{
	struct guest_mem *mem = self->mem;

	self->pg.cr0 = CR0_PE | CR0_PG | CR0_WP;
	self->pg.cr4 = CR4_PAE;
	self->pg.efer = EFER_LME_ | EFER_LMA_ | EFER_NXE_;
	self->pg.cr3 = 0x1000 | 0x123;
	put64(mem, 0x1000 + 256 * 8, 0x2000 | P | W);
	put64(mem, 0x2000 + 1 * 8, 0x3000 | P | W);
	put64(mem, 0x3000 + 2 * 8, 0x4000 | P | W);
	/* 62:52 are ignored (software, protection keys), not address */
	put64(mem, 0x4000 + 3 * 8, 0x7ff0000000000000ULL |
	      0x000ffffffffff000ULL | P | W | AD);
	EXPECT_GPA(KVA(1, 2, 3) + 0xabc, WR, 0x000ffffffffffabcULL, 4);
	EXPECT_GPA(KVA(1, 2, 3) + 0xabc, EXEC, 0x000ffffffffffabcULL, 4);
	EXPECT_FAULT(KVA(1, 2, 3), USR);
	EXPECT_FAULT(KVA(1, 2, 4), RD);		/* PTE */
	EXPECT_FAULT(KVA(1, 3, 0), RD);		/* PDE */
	EXPECT_FAULT(KVA(0, 0, 0), RD);		/* PDPTE */
	EXPECT_FAULT(0xffff808000000000ULL, RD);	/* PML4E */

	/* canonical addresses only */
	EXPECT_FAULT(0x0000800000000000ULL, RD);
	EXPECT_EQ(0, self->mem->reads);
	EXPECT_FAULT(0xffff7fffffffffffULL, RD);
	EXPECT_EQ(0, self->mem->reads);
	EXPECT_FAULT(KVA(1, 2, 3) & ~(1ULL << 60), RD);

	/* 1 GiB pages; PAT at bit 12; 29:13 reserved */
	put64(mem, 0x2000 + 2 * 8, 0x4000000000ULL | PS | P | W);
	put64(mem, 0x2000 + 3 * 8, 0x4040000000ULL | PAT_LARGE | PS | P);
	put64(mem, 0x2000 + 4 * 8, 0x4080000000ULL | (1 << 13) | PS | P);
	put64(mem, 0x2000 + 5 * 8, 0x40c0000000ULL | (1 << 29) | PS | P);
	EXPECT_GPA(KVA(2, 0, 0) + 0x12345678, WR, 0x4012345678ULL, 2);
	EXPECT_GPA(KVA(3, 0x1ff, 0x1ff) + 0xfff, RD, 0x407fffffffULL, 2);
	EXPECT_FAULT(KVA(3, 0, 0), WR);
	EXPECT_FAULT(KVA(4, 0, 0), RD);
	EXPECT_FAULT(KVA(5, 0, 0), RD);

	/* 2 MiB pages; 20:13 reserved */
	put64(mem, 0x3000 + 3 * 8, 0x123200000ULL | PS | P | W);
	put64(mem, 0x3000 + 4 * 8, 0x123400000ULL | PAT_LARGE | PS | P);
	put64(mem, 0x3000 + 5 * 8, 0x123600000ULL | (1 << 20) | PS | P);
	EXPECT_GPA(KVA(1, 3, 0) + 0x54321, RD, 0x123254321ULL, 3);
	EXPECT_GPA(KVA(1, 4, 0x1ff) + 0x10, RD, 0x1235ff010ULL, 3);
	EXPECT_FAULT(KVA(1, 5, 0), RD);

	/* PS is reserved in a PML4E */
	put64(mem, 0x1000 + 257 * 8, 0x2000 | PS | P | W);
	EXPECT_FAULT(0xffff808040403000ULL, RD);	/* 257, 1, 2, 3 */

	/* the read callback's error is returned */
	put64(mem, 0x1000 + 258 * 8, 0x10000000 | P | W);
	EXPECT_WALK_ERR(-EIO, 0xffff810000000000ULL, RD);

	/* LA57 is not supported; LMA without PAE cannot happen */
	self->pg.cr4 = CR4_PAE | CR4_LA57;
	EXPECT_WALK_ERR(-EINVAL, KVA(1, 2, 3), RD);
	self->pg.cr4 = 0;
	EXPECT_WALK_ERR(-EINVAL, KVA(1, 2, 3), RD);
}

/*
 * Access rights, 4-level: the user half maps 0x201abc through PML4E 0
 * (0x5000), PDPTE 0 (0x6000), PDE 1 (0x7000), PTE 1, to 0x8abc.  Rights
 * are the most restrictive of all four levels.
 */
struct rights_case {
	u64 flags[4];		/* PML4E, PDPTE, PDE, PTE */
	u64 cr0, cr4, efer;
	u32 access;
	int ret;
};

#define PWU	(P | W | U)
#define PU	(P | U)
#define PW	(P | W)
#define WU	(W | U)
#define ALL	{ PWU, PWU, PWU, PWU }
#define LMA	(EFER_LME_ | EFER_LMA_)

static const struct rights_case rights_cases[] = {
	{ ALL, 0, 0, LMA, RD, 0 },
	{ ALL, 0, 0, LMA, USR | WR, 0 },
	{ ALL, CR0_WP, 0, LMA, WR, 0 },
	{ ALL, 0, 0, LMA, USR | EXEC, 0 },
	{ ALL, 0, 0, LMA, EXEC, 0 },
	/* read-only at one level */
	{ { PU, PWU, PWU, PWU }, 0, 0, LMA, USR | WR, -EFAULT },
	{ { PU, PWU, PWU, PWU }, 0, 0, LMA, USR, 0 },
	{ { PU, PWU, PWU, PWU }, 0, 0, LMA, WR, 0 },
	{ { PU, PWU, PWU, PWU }, CR0_WP, 0, LMA, WR, -EFAULT },
	{ { PWU, PU, PWU, PWU }, CR0_WP, 0, LMA, WR, -EFAULT },
	{ { PWU, PWU, PU, PWU }, CR0_WP, 0, LMA, WR, -EFAULT },
	{ { PWU, PWU, PWU, PU }, CR0_WP, 0, LMA, WR, -EFAULT },
	{ { PWU, PWU, PWU, PU }, CR0_WP, 0, LMA, RD, 0 },
	/* supervisor at one level */
	{ { PW, PWU, PWU, PWU }, 0, 0, LMA, USR, -EFAULT },
	{ { PWU, PW, PWU, PWU }, 0, 0, LMA, USR, -EFAULT },
	{ { PWU, PWU, PW, PWU }, 0, 0, LMA, USR | EXEC, -EFAULT },
	{ { PWU, PWU, PWU, PW }, 0, 0, LMA, USR | WR, -EFAULT },
	{ { PWU, PWU, PWU, PW }, CR0_WP, 0, LMA, WR, 0 },
	/* NX at any level, with EFER.NXE */
	{ { PWU | NX, PWU, PWU, PWU }, 0, 0, LMA | EFER_NXE_, EXEC, -EFAULT },
	{ { PWU, PWU | NX, PWU, PWU }, 0, 0, LMA | EFER_NXE_, USR | EXEC,
	  -EFAULT },
	{ { PWU, PWU, PWU | NX, PWU }, 0, 0, LMA | EFER_NXE_, EXEC, -EFAULT },
	{ { PWU, PWU, PWU, PWU | NX }, 0, 0, LMA | EFER_NXE_, EXEC, -EFAULT },
	{ { PWU, PWU, PWU, PWU | NX }, 0, 0, LMA | EFER_NXE_, USR | WR, 0 },
	{ { PWU | NX, PWU, PWU, PWU }, 0, 0, LMA | EFER_NXE_, RD, 0 },
	/* NX without EFER.NXE is a reserved bit, whatever the access */
	{ { PWU | NX, PWU, PWU, PWU }, 0, 0, LMA, RD, -EFAULT },
	{ { PWU, PWU | NX, PWU, PWU }, 0, 0, LMA, RD, -EFAULT },
	{ { PWU, PWU, PWU | NX, PWU }, 0, 0, LMA, WR, -EFAULT },
	{ { PWU, PWU, PWU, PWU | NX }, 0, 0, LMA, USR, -EFAULT },
	/* SMEP: no supervisor fetch from a user page */
	{ ALL, 0, CR4_SMEP, LMA, EXEC, -EFAULT },
	{ ALL, 0, CR4_SMEP, LMA, USR | EXEC, 0 },
	{ ALL, 0, CR4_SMEP, LMA, WR, 0 },
	{ { PWU, PWU, PW, PWU }, 0, CR4_SMEP, LMA, EXEC, 0 },
	/* not present at each level */
	{ { WU, PWU, PWU, PWU }, 0, 0, LMA, RD, -EFAULT },
	{ { PWU, WU, PWU, PWU }, 0, 0, LMA, RD, -EFAULT },
	{ { PWU, PWU, WU, PWU }, 0, 0, LMA, RD, -EFAULT },
	{ { PWU, PWU, PWU, WU }, 0, 0, LMA, RD, -EFAULT },
};

TEST_F(walk, long4_rights)
{
	static const u64 table[4] = { 0x5000, 0x6000, 0x7000, 0x8000 };
	static const u64 entry[4] = { 0x1000, 0x5000, 0x6008, 0x7008 };
	const struct rights_case *c;
	u64 gpa;
	size_t i;
	int l, ret;

	for (i = 0; i < ARRAY_SIZE(rights_cases); i++) {
		c = &rights_cases[i];
		for (l = 0; l < 4; l++)
			put64(self->mem, entry[l], table[l] | c->flags[l]);
		self->pg.cr0 = CR0_PE | CR0_PG | c->cr0;
		self->pg.cr3 = 0x1000;
		self->pg.cr4 = CR4_PAE | c->cr4;
		self->pg.efer = c->efer;
		ret = walk(self, 0x201abc, c->access, &gpa);
		EXPECT_EQ(c->ret, ret) TH_LOG("case %zu", i);
		if (!c->ret) {
			EXPECT_EQ(0x8abc, gpa) TH_LOG("case %zu", i);
		}
	}
	TH_LOG("%zu cases", ARRAY_SIZE(rights_cases));
}

/*
 * The #PF error code of each faulting walk: P (bit 0) for rights denied
 * or a reserved bit, W (1) and U (2) for the access, RSVD (3), I/D (4)
 * for a fetch when NX or SMEP is on; CR2 is the address walked.  SMAP
 * denies supervisor data accesses to user pages unless RFLAGS.AC is set.
 * Same tables as long4_rights.
 */
#define PF_P	0x1
#define PF_W	0x2
#define PF_U	0x4
#define PF_RSVD	0x8
#define PF_I	0x10
#define NOFAULT	0xff

struct fault_case {
	u64 flags[4];		/* PML4E, PDPTE, PDE, PTE */
	u64 cr0, cr4, efer, rflags;
	u32 access;
	u32 error;		/* NOFAULT: translates */
};

static const struct fault_case fault_cases[] = {
	/* not present: P clear, the access bits as the access was */
	{ { PWU, PWU, PWU, WU }, 0, 0, LMA, 0, RD, 0 },
	{ { PWU, PWU, PWU, WU }, 0, 0, LMA, 0, WR, PF_W },
	{ { WU, PWU, PWU, PWU }, 0, 0, LMA, 0, USR, PF_U },
	{ { PWU, WU, PWU, PWU }, 0, 0, LMA, 0, USR | WR, PF_U | PF_W },
	/* I/D only with NX or SMEP enabled */
	{ { PWU, PWU, WU, PWU }, 0, 0, LMA, 0, USR | EXEC, PF_U },
	{ { PWU, PWU, WU, PWU }, 0, 0, LMA | EFER_NXE_, 0, USR | EXEC,
	  PF_U | PF_I },
	{ { PWU, PWU, WU, PWU }, 0, CR4_SMEP, LMA, 0, EXEC, PF_I },
	/* rights: P set */
	{ { PWU, PWU, PWU, PW }, 0, 0, LMA, 0, USR, PF_P | PF_U },
	{ { PW, PWU, PWU, PWU }, 0, 0, LMA, 0, USR | WR, PF_P | PF_U | PF_W },
	{ { PWU, PWU, PU, PWU }, 0, 0, LMA, 0, USR | WR, PF_P | PF_U | PF_W },
	{ { PWU, PWU, PWU, PU }, CR0_WP, 0, LMA, 0, WR, PF_P | PF_W },
	{ { PWU, PWU, PWU, PWU | NX }, 0, 0, LMA | EFER_NXE_, 0, EXEC,
	  PF_P | PF_I },
	{ { PWU, PWU, PWU, PWU | NX }, 0, 0, LMA | EFER_NXE_, 0, USR | EXEC,
	  PF_P | PF_U | PF_I },
	{ ALL, 0, CR4_SMEP, LMA, 0, EXEC, PF_P | PF_I },
	/* a reserved bit: P and RSVD */
	{ { PWU, PWU, PWU, PWU | NX }, 0, 0, LMA, 0, RD, PF_P | PF_RSVD },
	{ { PWU | PS, PWU, PWU, PWU }, 0, 0, LMA, 0, USR | WR,
	  PF_P | PF_RSVD | PF_U | PF_W },
	/* SMAP: supervisor reads and writes of a user page... */
	{ ALL, 0, CR4_SMAP, LMA, 0, RD, PF_P },
	{ ALL, 0, CR4_SMAP, LMA, 0, WR, PF_P | PF_W },
	{ ALL, CR0_WP, CR4_SMAP, LMA, 0, WR, PF_P | PF_W },
	/* ... unless AC is set */
	{ ALL, 0, CR4_SMAP, LMA, RFLAGS_AC, RD, NOFAULT },
	{ ALL, CR0_WP, CR4_SMAP, LMA, RFLAGS_AC, WR, NOFAULT },
	/* AC alone changes nothing */
	{ { PWU, PWU, PWU, PW }, 0, 0, LMA, RFLAGS_AC, USR, PF_P | PF_U },
	/* a user page at one level only is still a supervisor page */
	{ { PWU, PW, PWU, PWU }, 0, CR4_SMAP, LMA, 0, WR, NOFAULT },
	/* SMAP is about supervisor data: not user accesses, not fetches */
	{ ALL, 0, CR4_SMAP, LMA, 0, USR | WR, NOFAULT },
	{ ALL, 0, CR4_SMAP, LMA, 0, EXEC, NOFAULT },
	{ ALL, 0, CR4_SMAP | CR4_SMEP, LMA, RFLAGS_AC, EXEC, PF_P | PF_I },
	/* a read-only user page with AC set: CR0.WP still decides */
	{ { PWU, PWU, PWU, PU }, CR0_WP, CR4_SMAP, LMA, RFLAGS_AC, WR,
	  PF_P | PF_W },
};

TEST_F(walk, long4_fault_codes)
{
	static const u64 table[4] = { 0x5000, 0x6000, 0x7000, 0x8000 };
	static const u64 entry[4] = { 0x1000, 0x5000, 0x6008, 0x7008 };
	const struct fault_case *c;
	u64 gpa;
	size_t i;
	int l, ret;

	for (i = 0; i < ARRAY_SIZE(fault_cases); i++) {
		c = &fault_cases[i];
		for (l = 0; l < 4; l++)
			put64(self->mem, entry[l], table[l] | c->flags[l]);
		self->pg.cr0 = CR0_PE | CR0_PG | c->cr0;
		self->pg.cr3 = 0x1000;
		self->pg.cr4 = CR4_PAE | c->cr4;
		self->pg.efer = c->efer;
		self->pg.rflags = c->rflags;
		ret = walk(self, 0x201abc, c->access, &gpa);
		if (c->error == NOFAULT) {
			EXPECT_EQ(0, ret) TH_LOG("case %zu", i);
			EXPECT_EQ(0x8abc, gpa) TH_LOG("case %zu", i);
			continue;
		}
		EXPECT_EQ(-EFAULT, ret) TH_LOG("case %zu", i);
		EXPECT_EQ(14, self->fault.vector) TH_LOG("case %zu", i);
		EXPECT_EQ(c->error, self->fault.error) TH_LOG("case %zu", i);
		EXPECT_EQ(0x201abc, self->fault.address) TH_LOG("case %zu", i);
	}
	TH_LOG("%zu cases", ARRAY_SIZE(fault_cases));
}

/* Error codes and SMAP with 32-bit and PAE paging; #GP off canonical. */
TEST_F(walk, fault_codes_other_modes)
{
	struct guest_mem *mem = self->mem;
	u64 gpa;

	/* 32-bit paging: a user page and a supervisor page */
	self->pg.cr0 = CR0_PE | CR0_PG | CR0_WP;
	self->pg.cr3 = 0x1000;
	put32(mem, 0x1000 + 1 * 4, 0x2000 | P | W | U);
	put32(mem, 0x2000 + 3 * 4, 0x30000 | P | W | U);
	put32(mem, 0x2000 + 4 * 4, 0x31000 | P | W);
	EXPECT_FAULT(0x00404010, USR | WR);
	EXPECT_EQ(PF_P | PF_U | PF_W, self->fault.error);
	EXPECT_EQ(0x00404010, self->fault.address);
	/* the address is linear, 32 bits outside long mode */
	EXPECT_FAULT(0x500405010ULL, RD);
	EXPECT_EQ(0, self->fault.error);
	EXPECT_EQ(0x00405010, self->fault.address);
	self->pg.cr4 = CR4_SMAP;
	EXPECT_FAULT(0x00403008, WR);
	EXPECT_EQ(14, self->fault.vector);
	EXPECT_EQ(PF_P | PF_W, self->fault.error);
	EXPECT_GPA(0x00404008, WR, 0x31008, 2);
	self->pg.rflags = RFLAGS_AC;
	EXPECT_GPA(0x00403008, WR, 0x30008, 2);

	/* PAE: the same, and the PDPTE's reserved bits */
	self->pg.cr4 = CR4_PAE | CR4_SMAP;
	self->pg.rflags = 0;
	self->pg.cr3 = 0x3000;
	put64(mem, 0x3000, 0x4000 | P);
	put64(mem, 0x3008, 0x4000 | W | P);
	put64(mem, 0x4000, 0x5000 | P | W | U);
	put64(mem, 0x5000, 0x60000 | P | W | U);
	EXPECT_FAULT(0x00000123, RD);
	EXPECT_EQ(PF_P, self->fault.error);
	EXPECT_GPA(0x00000123, USR | WR, 0x60123, 3);
	EXPECT_FAULT(0x40000123, USR);
	EXPECT_EQ(PF_P | PF_RSVD | PF_U, self->fault.error);
	EXPECT_EQ(0x40000123, self->fault.address);

	/* 4-level: non-canonical is #GP(0), without reading a table */
	self->pg.cr4 = CR4_PAE;
	self->pg.efer = EFER_LME_ | EFER_LMA_;
	EXPECT_FAULT(0x0000800000000000ULL, USR | WR);
	EXPECT_EQ(13, self->fault.vector);
	EXPECT_EQ(0, self->fault.error);
	EXPECT_EQ(0, self->mem->reads);
	(void)gpa;
}

/*
 * An entry whose GPA has no memory behind it (page tables in MMIO) is not
 * present, as in KVM's walker: #PF with P clear, at any level, whatever
 * the access; nothing else is read in its place.
 */
TEST_F(walk, table_without_memory)
{
	struct guest_mem *mem = self->mem;

	self->pg.cr0 = CR0_PE | CR0_PG | CR0_WP;
	self->pg.cr4 = CR4_PAE;
	self->pg.efer = EFER_LME_ | EFER_LMA_;
	self->pg.cr3 = 0x1000;
	put64(mem, 0x1000, 0x2000 | P | W | U);
	put64(mem, 0x2000, NO_MEM | P | W | U);		/* PD in MMIO */
	put64(mem, 0x2008, 0x3000 | P | W | U);
	put64(mem, 0x3000, (NO_MEM + 0x1000) | P | W | U); /* PT in MMIO */
	EXPECT_FAULT(0x1234, USR | WR);
	EXPECT_EQ(14, self->fault.vector);
	EXPECT_EQ(PF_U | PF_W, self->fault.error);
	EXPECT_EQ(0x1234, self->fault.address);
	EXPECT_EQ(2, self->mem->reads);
	EXPECT_FAULT(0x40005678, RD);
	EXPECT_EQ(0, self->fault.error);
	EXPECT_EQ(0x40005678, self->fault.address);
	EXPECT_EQ(3, self->mem->reads);

	/* the root itself, with 32-bit paging */
	self->pg.cr4 = 0;
	self->pg.efer = 0;
	self->pg.cr3 = NO_MEM;
	EXPECT_FAULT(0x00401000, WR);
	EXPECT_EQ(PF_W, self->fault.error);
	EXPECT_EQ(0, self->mem->reads);
}

/* Segment checks of a data access. */
#define SEG(b, l, t)	{ .base = b, .limit = l, .type = t, .usable = true }

struct linear_case {
	const char *what;
	enum mkvm_cpu_mode mode;
	struct mkvm_seg seg;
	u64 ea;
	unsigned int len;
	bool write;
	int vector;		/* 0: no fault */
	u64 la;
};

#define DATA_RW	0x3
#define DATA_RO	0x1
#define DOWN_RW	0x7
#define CODE_X	0x9
#define CODE_RX	0xb

static const struct linear_case linear_cases[] = {
	{ "flat", P32, SEG(0, 0xffffffff, DATA_RW), 0xfffffffc, 4, true,
	  .la = 0xfffffffc },
	{ "base wraps at 4G", P32, SEG(0x10000, 0xffffffff, DATA_RW),
	  0xffff8000, 4, false, .la = 0x8000 },
	{ "last byte at the limit", P32, SEG(0x1000, 0xfff, DATA_RW), 0xffc, 4,
	  true, .la = 0x1ffc },
	{ "one byte past the limit", P32, SEG(0x1000, 0xfff, DATA_RW), 0xffd, 4,
	  true, .vector = 13 },
	{ "start past the limit", P32, SEG(0, 0xfff, DATA_RW), 0x1000, 1,
	  false, .vector = 13 },
	{ "past the limit, SS", P32,
	  { .limit = 0xfff, .type = DATA_RW, .usable = true, .ss = true },
	  0xfff, 2, true, .vector = 12 },
	{ "write to read-only data", P32, SEG(0, 0xffffffff, DATA_RO), 0, 1,
	  true, .vector = 13 },
	{ "read of read-only data", P32, SEG(0, 0xffffffff, DATA_RO), 0, 1,
	  false, .la = 0 },
	{ "write to code", P32, SEG(0, 0xffffffff, CODE_RX), 0, 1, true,
	  .vector = 13 },
	{ "read of readable code", P32, SEG(0, 0xffffffff, CODE_RX), 8, 1,
	  false, .la = 8 },
	{ "read of execute-only code", P32, SEG(0, 0xffffffff, CODE_X), 8, 1,
	  false, .vector = 13 },
	{ "unusable", P32, { .limit = 0xffffffff, .type = DATA_RW }, 0, 1,
	  false, .vector = 13 },
	{ "unusable SS", P32,
	  { .limit = 0xffffffff, .type = DATA_RW, .ss = true }, 0, 1,
	  false, .vector = 12 },
	{ "expand-down, above the limit", P32, SEG(0, 0xfff, DOWN_RW), 0x1000,
	  4, true, .la = 0x1000 },
	{ "expand-down, at the limit", P32, SEG(0, 0xfff, DOWN_RW), 0xfff, 4,
	  true, .vector = 13 },
	{ "expand-down 16-bit, past 64K", P32, SEG(0, 0xfff, DOWN_RW), 0xfffe,
	  4, true, .vector = 13 },
	{ "expand-down 32-bit, up to 4G", P32,
	  { .limit = 0xfff, .type = DOWN_RW, .db = true, .usable = true },
	  0xfffffffc, 4, true, .la = 0xfffffffc },
	{ "real mode, in the limit", R16, SEG(0xb8000, 0xffff, DATA_RW),
	  0xfffe, 2, true, .la = 0xc7ffe },
	{ "real mode, past the limit", R16, SEG(0xb8000, 0xffff, DATA_RW),
	  0xffff, 2, true, .vector = 13 },
	{ "real mode ignores the type", R16, SEG(0, 0xffff, CODE_RX), 0x10, 2,
	  true, .la = 0x10 },
	{ "64-bit: no limit, no type", L64, SEG(0, 0, DATA_RO),
	  0x7ffffffffff8ULL, 8, true, .la = 0x7ffffffffff8ULL },
	{ "64-bit: FS base", L64, SEG(0xffff800000000000ULL, 0, 0), 0x10, 8,
	  false, .la = 0xffff800000000010ULL },
	{ "64-bit: non-canonical start", L64, SEG(0, 0, DATA_RW),
	  0x800000000000ULL, 1, false, .vector = 13 },
	{ "64-bit: non-canonical end", L64, SEG(0, 0, DATA_RW),
	  0x7ffffffffffcULL, 8, true, .vector = 13 },
	{ "64-bit: non-canonical, SS", L64,
	  { .ss = true }, 0xffff7ffffffffff0ULL, 8, false, .vector = 12 },
};

TEST(linearize)
{
	const struct linear_case *c;
	struct mkvm_fault fault;
	size_t i;
	u64 la;
	int ret;

	for (i = 0; i < ARRAY_SIZE(linear_cases); i++) {
		c = &linear_cases[i];
		la = 0xdeadbeef;
		ret = mkvm_linearize(c->mode, &c->seg, c->ea, c->len, c->write,
				     &la, &fault);
		if (!c->vector) {
			EXPECT_EQ(0, ret) TH_LOG("%s", c->what);
			EXPECT_EQ(c->la, la) TH_LOG("%s", c->what);
			continue;
		}
		EXPECT_EQ(-EFAULT, ret) TH_LOG("%s", c->what);
		EXPECT_EQ(c->vector, fault.vector) TH_LOG("%s", c->what);
		EXPECT_EQ(0, fault.error) TH_LOG("%s", c->what);
	}
	TH_LOG("%zu cases", ARRAY_SIZE(linear_cases));
}

/*
 * The double-fault rule: every pair of first and second exception among
 * the classes (benign #DB/#BP/#UD, contributory #DE/#TS/#NP/#SS/#GP,
 * #PF, #DF), against SDM vol. 3 table 6-5.
 */
TEST(exception_merge)
{
	static const u8 benign[] = { X86_TRAP_DB, X86_TRAP_BP, X86_TRAP_UD };
	static const u8 contrib[] = { X86_TRAP_DE, X86_TRAP_TS, X86_TRAP_NP,
				      X86_TRAP_SS, X86_TRAP_GP };
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(contrib); i++) {
		for (j = 0; j < ARRAY_SIZE(contrib); j++)
			EXPECT_EQ(MKVM_EXC_DOUBLE_FAULT,
				  mkvm_exception_merge(contrib[i], contrib[j]));
		EXPECT_EQ(MKVM_EXC_NEXT, mkvm_exception_merge(contrib[i], X86_TRAP_PF));
		EXPECT_EQ(MKVM_EXC_DOUBLE_FAULT, mkvm_exception_merge(X86_TRAP_PF, contrib[i]));
		EXPECT_EQ(MKVM_EXC_TRIPLE_FAULT, mkvm_exception_merge(X86_TRAP_DF, contrib[i]));
		for (j = 0; j < ARRAY_SIZE(benign); j++) {
			EXPECT_EQ(MKVM_EXC_NEXT, mkvm_exception_merge(contrib[i], benign[j]));
			EXPECT_EQ(MKVM_EXC_NEXT, mkvm_exception_merge(benign[j], contrib[i]));
		}
	}
	EXPECT_EQ(MKVM_EXC_DOUBLE_FAULT, mkvm_exception_merge(X86_TRAP_PF, X86_TRAP_PF));
	EXPECT_EQ(MKVM_EXC_TRIPLE_FAULT, mkvm_exception_merge(X86_TRAP_DF, X86_TRAP_PF));
	EXPECT_EQ(MKVM_EXC_TRIPLE_FAULT, mkvm_exception_merge(X86_TRAP_DF, X86_TRAP_UD));
	for (i = 0; i < ARRAY_SIZE(benign); i++) {
		EXPECT_EQ(MKVM_EXC_NEXT, mkvm_exception_merge(X86_TRAP_PF, benign[i]));
		EXPECT_EQ(MKVM_EXC_NEXT, mkvm_exception_merge(benign[i], X86_TRAP_PF));
		EXPECT_EQ(MKVM_EXC_NEXT, mkvm_exception_merge(benign[i], benign[i]));
	}
}

TEST_HARNESS_MAIN
