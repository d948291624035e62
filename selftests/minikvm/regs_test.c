// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET/SET_REGS, KVM_GET/SET_SREGS and KVM_GET/SET_FPU: what the host
 * sets is what the guest runs with, and what the guest leaves is what the
 * host reads; invalid CR0/CR4/EFER combinations are refused with EINVAL
 * and leave the state as it was; a guest cannot set EFER.LME when its
 * CPUID has no long mode; RSP is current for whoever reads or writes it
 * after exits that leave it in the VMCS.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

FIXTURE(regs) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_SETUP(regs)
{
	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(regs)
{
	vm_free(self->vm);
}

/* Every GPR incremented once: RFLAGS.CF survives, INC leaves it alone. */
GUEST_ASM(inc_guest,
	".code64\n"
	"inc %rax\n inc %rbx\n inc %rcx\n inc %rdx\n"
	"inc %rsi\n inc %rdi\n inc %rsp\n inc %rbp\n"
	"inc %r8\n inc %r9\n inc %r10\n inc %r11\n"
	"inc %r12\n inc %r13\n inc %r14\n inc %r15\n"
	"hlt\n"
	".globl inc_guest_after\n"
	"inc_guest_after:\n");
extern const char inc_guest_after[];

TEST_F(regs, gprs)
{
	struct kvm_regs set, got;
	uint64_t *s = (uint64_t *)&set, *g = (uint64_t *)&got;
	unsigned int i;

	vcpu_load_snippet(self->vcpu, MODE_LONG, inc_guest);
	vcpu_get_regs(self->vcpu, &set);
	/* rax..r15 are the first 16 fields, then rip and rflags. */
	for (i = 0; i < 16; i++)
		s[i] = 0x0101010101010101ULL * (i + 1) + (i << 8);
	set.rflags = RFLAGS_FIXED | 1;		/* CF */
	vcpu_set_regs(self->vcpu, &set);
	vcpu_get_regs(self->vcpu, &got);
	EXPECT_EQ(0, memcmp(&set, &got, sizeof(set)));

	vcpu_run(self->vcpu);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(self->vcpu, &got);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(s[i] + 1, g[i]) TH_LOG("register %u", i);
	EXPECT_EQ(CODE_GPA + (inc_guest_after - inc_guest_start), got.rip);
	EXPECT_EQ(1, got.rflags & 1);
	EXPECT_EQ(RFLAGS_FIXED, got.rflags & RFLAGS_FIXED);

	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_GET_REGS, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_SET_REGS, 0));
}

/*
 * RSP moves without an exit between exits that do not use it: VMX leaves
 * it in the VMCS after such an exit (design.rst, "lazily"), and every
 * user must still see the current one: MOV to DR0 from RSP (an exit
 * on minikvm), KVM_GET_REGS at the HLT, an MMIO load into RSP, and
 * KVM_SET_REGS between two runs.
 */
GUEST_ASM(rsp_guest,
	".code64\n"
	"sub $0x100, %rsp\n"
	"cpuid\n"
	"sub $0x100, %rsp\n"
	"mov %rsp, %rdi\n"
	"mov %rsp, %dr0\n"
	"mov %dr0, %rsi\n"
	"sub $0x100, %rsp\n"
	"cpuid\n"
	"hlt\n"
	"mov %rsp, %r8\n"
	"cpuid\n"
	"mov %rsp, %r9\n"
	"hlt\n"
	"movabs $" MMIO_GPA_S ", %rax\n"
	"mov (%rax), %rsp\n"
	"mov %rsp, %r10\n"
	"cpuid\n"
	"hlt\n");

TEST_F(regs, rsp_current_after_exits_that_leave_it)
{
	struct kvm_regs r;
	uint64_t top, v = 0x123456789ab0ULL;

	vcpu_load_snippet(self->vcpu, MODE_LONG, rsp_guest);
	vcpu_get_regs(self->vcpu, &r);
	top = r.rsp;

	vcpu_run(self->vcpu);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(self->vcpu, &r);
	EXPECT_EQ(top - 0x300, r.rsp);
	EXPECT_EQ(top - 0x200, r.rdi);
	EXPECT_EQ(top - 0x200, r.rsi) TH_LOG("MOV DR0 took a stale RSP");

	/* Set after an exit that left RSP in the VMCS: the guest runs on it. */
	r.rsp = top - 0x800;
	vcpu_set_regs(self->vcpu, &r);
	vcpu_run(self->vcpu);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(self->vcpu, &r);
	EXPECT_EQ(top - 0x800, r.r8) TH_LOG("KVM_SET_REGS' RSP lost");
	EXPECT_EQ(top - 0x800, r.r9);
	EXPECT_EQ(top - 0x800, r.rsp);

	vcpu_run(self->vcpu);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_MMIO);
	ASSERT_EQ(MMIO_GPA, self->vcpu->run->mmio.phys_addr);
	ASSERT_EQ(8, self->vcpu->run->mmio.len);
	ASSERT_EQ(0, self->vcpu->run->mmio.is_write);
	memcpy(self->vcpu->run->mmio.data, &v, sizeof(v));
	vcpu_run(self->vcpu);
	vcpu_assert_exit(self->vcpu, KVM_EXIT_HLT);
	vcpu_get_regs(self->vcpu, &r);
	EXPECT_EQ(v, r.r10) TH_LOG("the MMIO load into RSP was lost");
	EXPECT_EQ(v, r.rsp);
}

/* The guest reads back its system registers. */
GUEST_ASM(sregs_guest,
	".code64\n"
	"mov %cr0, %rdi\n"
	"mov %cr3, %rsi\n"
	"mov %cr4, %rdx\n"
	"xor %ecx, %ecx\n"
	"mov %ds, %cx\n"
	ASM_UCALL(UCALL_SYNC)
	"sgdt " DATA_GPA_S "\n"
	"sidt " DATA_GPA_S " + 0x10\n"
	"xor %edi, %edi\n"
	"str %di\n"
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"mov %eax, %esi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

static void expect_seg(struct __test_metadata *_metadata, const char *name,
		       const struct kvm_segment *a, const struct kvm_segment *b)
{
	EXPECT_EQ(a->base, b->base) TH_LOG("%s", name);
	EXPECT_EQ(a->limit, b->limit) TH_LOG("%s", name);
	EXPECT_EQ(a->selector, b->selector) TH_LOG("%s", name);
	EXPECT_EQ(a->type, b->type) TH_LOG("%s", name);
	EXPECT_EQ(a->present, b->present) TH_LOG("%s", name);
	EXPECT_EQ(a->dpl, b->dpl) TH_LOG("%s", name);
	EXPECT_EQ(a->db, b->db) TH_LOG("%s", name);
	EXPECT_EQ(a->s, b->s) TH_LOG("%s", name);
	EXPECT_EQ(a->l, b->l) TH_LOG("%s", name);
	EXPECT_EQ(a->g, b->g) TH_LOG("%s", name);
}

TEST_F(regs, sregs)
{
	struct kvm_sregs set, got;
	uint8_t *data = gpa2hva(self->vm, DATA_GPA);
	struct ucall uc;

	vcpu_load_snippet(self->vcpu, MODE_LONG, sregs_guest);
	vcpu_get_sregs(self->vcpu, &set);
	/* Values different from the library's: a second data selector. */
	set.ds.selector = GDT_DATA16;
	set.gdt.limit = 0x37;
	set.idt.limit = 0xfef;
	set.cr0 |= CR0_TS | CR0_MP;
	set.cr4 |= CR4_PSE;
	vcpu_set_sregs(self->vcpu, &set);
	vcpu_get_sregs(self->vcpu, &got);
	EXPECT_EQ(set.cr0, got.cr0);
	EXPECT_EQ(set.cr3, got.cr3);
	EXPECT_EQ(set.cr4, got.cr4);
	EXPECT_EQ(set.efer, got.efer);
	EXPECT_EQ(set.gdt.base, got.gdt.base);
	EXPECT_EQ(set.gdt.limit, got.gdt.limit);
	EXPECT_EQ(set.idt.base, got.idt.base);
	EXPECT_EQ(set.idt.limit, got.idt.limit);
	expect_seg(_metadata, "cs", &set.cs, &got.cs);
	expect_seg(_metadata, "ds", &set.ds, &got.ds);
	expect_seg(_metadata, "ss", &set.ss, &got.ss);
	expect_seg(_metadata, "tr", &set.tr, &got.tr);

	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(set.cr0, uc.args[0]);
	EXPECT_EQ(set.cr3, uc.args[1]);
	EXPECT_EQ(set.cr4, uc.args[2]);
	EXPECT_EQ(set.ds.selector, uc.args[3]);
	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(set.tr.selector, uc.args[0]);
	EXPECT_EQ(set.efer & 0xffffffff, uc.args[1]);
	EXPECT_EQ(set.gdt.limit, get_le(data, 2));
	EXPECT_EQ(set.gdt.base, get_le(data + 2, 8));
	EXPECT_EQ(set.idt.limit, get_le(data + 0x10, 2));
	EXPECT_EQ(set.idt.base, get_le(data + 0x12, 8));

	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_GET_SREGS, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_SET_SREGS, 0));
}

/*
 * Invalid combinations, each applied to a valid state: KVM_SET_SREGS
 * fails with EINVAL and KVM_GET_SREGS still returns the valid state.
 */
struct bad_sregs {
	const char *what;
	enum cpu_mode base;
	uint64_t cr0_set, cr0_clear;
	uint64_t cr4_set, cr4_clear;
	uint64_t efer_set, efer_clear;
	uint64_t cr3;
	bool cs_l;
};

static const struct bad_sregs bad_sregs[] = {
	{ "CR0.PG without CR0.PE", MODE_REAL, .cr0_set = CR0_PG },
	{ "CR0.NW without CR0.CD", MODE_PROT32, .cr0_set = CR0_NW, .cr0_clear = CR0_CD },
	{ "CR0 bit 32", MODE_PROT32, .cr0_set = 1ULL << 32 },
	{ "CR0 bit 63", MODE_LONG, .cr0_set = 1ULL << 63 },
	{ "CR4 bit 63", MODE_PROT32, .cr4_set = 1ULL << 63 },
	{ "CR4 reserved bit 15", MODE_LONG, .cr4_set = 1ULL << 15 },
	{ "EFER.LMA without paging", MODE_PROT32, .efer_set = EFER_LME | EFER_LMA },
	{ "EFER.LMA without EFER.LME", MODE_PAE, .efer_set = EFER_LMA },
	{ "EFER.LME and CR0.PG without CR4.PAE", MODE_PAGING32, .efer_set = EFER_LME | EFER_LMA },
	{ "long mode without CR4.PAE", MODE_LONG, .cr4_clear = CR4_PAE },
	{ "EFER.LME and CR0.PG without EFER.LMA", MODE_LONG, .efer_clear = EFER_LMA },
	{ "long mode with CR0.PG clear but EFER.LMA", MODE_LONG, .cr0_clear = CR0_PG },
	{ "CS.L outside long mode", MODE_PROT32, .cs_l = true },
	{ "CS.L in real mode", MODE_REAL, .cs_l = true },
	{ "long mode CR3 beyond MAXPHYADDR", MODE_LONG, .cr3 = 1ULL << 62 },
};

GUEST_ASM(ok_guest,
	".code64\n"
	"mov $42, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(regs, invalid_sregs)
{
	struct kvm_sregs good, bad, got;
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_sregs); i++) {
		const struct bad_sregs *b = &bad_sregs[i];

		vcpu_set_mode(self->vcpu, b->base);
		vcpu_get_sregs(self->vcpu, &good);
		bad = good;
		bad.cr0 = (bad.cr0 | b->cr0_set) & ~b->cr0_clear;
		bad.cr4 = (bad.cr4 | b->cr4_set) & ~b->cr4_clear;
		bad.efer = (bad.efer | b->efer_set) & ~b->efer_clear;
		if (b->cr3)
			bad.cr3 |= b->cr3;
		if (b->cs_l)
			bad.cs.l = 1;
		EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->vcpu->fd, KVM_SET_SREGS,
						(unsigned long)&bad))
			TH_LOG("%s", b->what);
		vcpu_get_sregs(self->vcpu, &got);
		EXPECT_EQ(0, memcmp(&good, &got, sizeof(good)))
			TH_LOG("%s: the state changed", b->what);
	}
	/* The vCPU still works. */
	vcpu_load_snippet(self->vcpu, MODE_LONG, ok_guest);
	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(42, uc.args[0]);
}

/*
 * A guest WRMSR that sets EFER.LME: #GP when the vCPU's CPUID has no long
 * mode, accepted when it has.  32-bit protected mode with an IDT whose
 * #GP handler reports vector 13 and the faulting EIP.  Like a boot
 * loader, the guest enables PAE and loads CR3 first (setting LME with
 * PAE clear wedged the whole emulated test machine under kvm_amd).
 */
GUEST_ASM(lme_guest,
	".code32\n"
	"lidt " SNIP(lme_guest, lme_idtr) "\n"
	"mov %cr4, %eax\n"
	"or $0x20, %eax\n"
	"mov %eax, %cr4\n"
	"mov $" PML4_GPA_S ", %eax\n"
	"mov %eax, %cr3\n"
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"or $0x100, %eax\n"
	".globl lme_guest_wrmsr\n"
	"lme_guest_wrmsr:\n"
	"wrmsr\n"
	"rdmsr\n"
	"mov %eax, %esi\n"
	"xor %edi, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n"
	"lme_gp:\n"
	"pop %esi\n"			/* error code */
	"pop %edx\n"			/* EIP */
	"mov $13, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n"
	".balign 8\n"
	"lme_idt:\n"
	".fill 13, 8, 0\n"
	/* vector 13: 32-bit interrupt gate to lme_gp, selector 0x08 */
	".word " SNIP(lme_guest, lme_gp) " & 0xffff\n"
	".word 0x08\n"
	".word 0x8e00\n"
	".word " SNIP(lme_guest, lme_gp) " >> 16\n"
	"lme_idtr:\n"
	".word 14 * 8 - 1\n"
	".long " SNIP(lme_guest, lme_idt) "\n");
extern const char lme_guest_wrmsr[];

static void set_long_mode_cpuid(struct vcpu *vcpu, bool lm)
{
	struct kvm_cpuid2 *cpuid = default_cpuid();
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 0x80000001, 0);

	TEST_ASSERT(e, "no CPUID leaf 0x80000001");
	if (lm)
		e->edx |= CPUID_8000_0001_EDX_LM;
	else
		e->edx &= ~CPUID_8000_0001_EDX_LM;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
}

TEST_F(regs, guest_efer_lme_needs_long_mode_cpuid)
{
	struct vcpu *lm = vm_vcpu_add(self->vm, 1);
	struct kvm_sregs sregs;
	struct ucall uc;

	/* Without long mode in CPUID. */
	set_long_mode_cpuid(self->vcpu, false);
	vcpu_load_snippet(self->vcpu, MODE_PROT32, lme_guest);
	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(13, uc.args[0]) TH_LOG("WRMSR EFER.LME did not #GP");
	EXPECT_EQ(0, uc.args[1]);	/* error code */
	EXPECT_EQ(CODE_GPA + (lme_guest_wrmsr - lme_guest_start), uc.args[2]);
	vcpu_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(0, sregs.efer & EFER_LME);

	/* With it. */
	set_long_mode_cpuid(lm, true);
	vcpu_load_snippet(lm, MODE_PROT32, lme_guest);
	vcpu_run_expect(lm, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]) TH_LOG("WRMSR EFER.LME faulted with long mode in CPUID");
	EXPECT_EQ(EFER_LME, uc.args[1] & (EFER_LME | EFER_LMA));
	vcpu_get_sregs(lm, &sregs);
	EXPECT_EQ(EFER_LME, sregs.efer & (EFER_LME | EFER_LMA));
}

/*
 * EFER.LME armed with paging and PAE still off (legal: long mode starts
 * only when paging is turned on).  The guest exits in that state, by its
 * own WRMSR and by KVM_SET_SREGS; each exit must return to a healthy host
 * (a VMCB with LME in that state makes QEMU's SVM model drop the host's
 * CR0.PG on #VMEXIT).  minikvm only: kvm_amd with NPT puts LME in the
 * VMCB as it is, and would wedge the rig's QEMU.
 */
GUEST_ASM(lme_nopae_guest,
	".code32\n"
	"mov $0xc0000080, %ecx\n"
	"rdmsr\n"
	"mov %eax, %esi\n"
	"xor %edi, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"rdmsr\n"
	"or $0x100, %eax\n"
	"wrmsr\n"
	"rdmsr\n"
	"mov %eax, %esi\n"
	"mov $1, %edi\n"
	ASM_UCALL(UCALL_SYNC)
	"hlt\n");

TEST_F(regs, efer_lme_without_pae_or_paging)
{
	struct vcpu *by_guest = vm_vcpu_add(self->vm, 1);
	struct kvm_sregs sregs;
	struct ucall uc;
	int i;

	if (mkvm_is_kvm())
		SKIP(return, "kvm_amd puts EFER.LME in the VMCB: it wedges the rig's QEMU");
	/* Set by the host. */
	set_long_mode_cpuid(self->vcpu, true);
	vcpu_load_snippet(self->vcpu, MODE_PROT32, lme_nopae_guest);
	vcpu_get_sregs(self->vcpu, &sregs);
	ASSERT_EQ(0, sregs.cr4 & CR4_PAE);
	sregs.efer |= EFER_LME;
	vcpu_set_sregs(self->vcpu, &sregs);
	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(0, uc.args[0]);
	EXPECT_EQ(EFER_LME, uc.args[1] & (EFER_LME | EFER_LMA));
	vcpu_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(EFER_LME, sregs.efer & (EFER_LME | EFER_LMA));
	EXPECT_EQ(EFER_LME, vcpu_get_msr(self->vcpu, MSR_EFER) & (EFER_LME | EFER_LMA));

	/* Set by the guest, and many exits in that state. */
	set_long_mode_cpuid(by_guest, true);
	for (i = 0; i < 20; i++) {
		vcpu_load_snippet(by_guest, MODE_PROT32, lme_nopae_guest);
		vcpu_run_expect(by_guest, UCALL_SYNC, &uc);
		EXPECT_EQ(0, uc.args[1] & EFER_LME);
		vcpu_run_expect(by_guest, UCALL_SYNC, &uc);
		EXPECT_EQ(1, uc.args[0]);
		EXPECT_EQ(EFER_LME, uc.args[1] & (EFER_LME | EFER_LMA));
		vcpu_run(by_guest);
		vcpu_assert_exit(by_guest, KVM_EXIT_HLT);
		vcpu_get_sregs(by_guest, &sregs);
		EXPECT_EQ(EFER_LME, sregs.efer & (EFER_LME | EFER_LMA));
		sregs.efer &= ~EFER_LME;
		vcpu_set_sregs(by_guest, &sregs);
	}
}

/*
 * FPU/SSE state.  The guest loads XMM0, XMM7 and the x87 control word,
 * exits (the host reads them with KVM_GET_FPU and sets others with
 * KVM_SET_FPU), then stores what it has: all in one asm block, so the
 * compiler cannot touch the registers in between.
 *
 * Not MXCSR: KVM's KVM_GET_FPU reports it as 0 and KVM_SET_FPU ignores
 * it (it is only in KVM_GET/SET_XSAVE).  And the guest uses SSE before
 * the host sets it: on KVM, XMM values set while the guest's SSE state
 * is still in its XSAVE init state do not reach the guest (KVM_SET_FPU
 * writes the legacy area, not the XSAVE header).
 */
static uint8_t fpu_in[2][16] __attribute__((aligned(16))) = {
	{ 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
	{ 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
	  0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f },
};

static void guest_fpu(void)
{
	uint8_t out[2][16] __attribute__((aligned(16)));
	uint16_t fcw_in = 0x27f, fcw_out;

	asm volatile("movdqa %[x0], %%xmm0\n\t"
		     "movdqa %[x7], %%xmm7\n\t"
		     "fldcw %[fi]\n\t"
		     "mov $" STR(UCALL_SYNC) ", %%al\n\t"
		     "xor %%edi, %%edi\n\t"
		     "out %%al, $" UCALL_PORT_S "\n\t"
		     "movdqa %%xmm0, %[o0]\n\t"
		     "movdqa %%xmm7, %[o7]\n\t"
		     "fnstcw %[fo]\n\t"
		     : [o0] "=m"(out[0]), [o7] "=m"(out[1]),
		       [fo] "=m"(fcw_out)
		     : [x0] "m"(fpu_in[0]), [x7] "m"(fpu_in[1]),
		       [fi] "m"(fcw_in)
		     : "rax", "rdi", "xmm0", "xmm7", "memory");
	GUEST_SYNC(((uint64_t *)out[0])[0], ((uint64_t *)out[0])[1]);
	GUEST_SYNC4(((uint64_t *)out[1])[0], ((uint64_t *)out[1])[1],
		    fcw_out, 0);
}

TEST_F(regs, fpu)
{
	struct kvm_fpu fpu, got;
	struct ucall uc;
	int i;

	vcpu_start_guest(self->vcpu, guest_fpu, 0);
	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);

	/* What the guest loaded. */
	kvm_ioctl(self->vcpu->fd, KVM_GET_FPU, &fpu);
	EXPECT_EQ(0, memcmp(fpu.xmm[0], fpu_in[0], 16));
	EXPECT_EQ(0, memcmp(fpu.xmm[7], fpu_in[1], 16));
	EXPECT_EQ(0x27f, fpu.fcw);

	/* Host values, read back, then seen by the guest. */
	for (i = 0; i < 16; i++) {
		fpu.xmm[0][i] = 0x40 + i;
		fpu.xmm[7][i] = 0x80 + 3 * i;
	}
	fpu.fcw = 0x07f;
	kvm_ioctl(self->vcpu->fd, KVM_SET_FPU, &fpu);
	kvm_ioctl(self->vcpu->fd, KVM_GET_FPU, &got);
	EXPECT_EQ(0, memcmp(got.xmm[0], fpu.xmm[0], 16));
	EXPECT_EQ(0, memcmp(got.xmm[7], fpu.xmm[7], 16));
	EXPECT_EQ(0x07f, got.fcw);

	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(get_le(fpu.xmm[0], 8), uc.args[0]);
	EXPECT_EQ(get_le(fpu.xmm[0] + 8, 8), uc.args[1]);
	vcpu_run_expect(self->vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(get_le(fpu.xmm[7], 8), uc.args[0]);
	EXPECT_EQ(get_le(fpu.xmm[7] + 8, 8), uc.args[1]);
	EXPECT_EQ(0x07f, uc.args[2]);
	vcpu_run_expect(self->vcpu, UCALL_DONE, &uc);

	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_GET_FPU, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(self->vcpu->fd, KVM_SET_FPU, 0));
}

/*
 * CR4 feature bits exist for a guest only with their CPUID bit: without
 * it KVM_SET_SREGS fails with EINVAL and a guest MOV to CR4 gets #GP
 * (CR4 unchanged); with it KVM_SET_SREGS takes the bit.  Features the
 * host does not offer (KVM_GET_SUPPORTED_CPUID) are left out.
 */
static const struct {
	const char *what;
	uint64_t cr4;
	uint32_t fn;
	int reg, bit;		/* reg: 0 EAX, 1 EBX, 2 ECX, 3 EDX */
} cr4_features[] = {
	{ "OSXSAVE", 1ULL << 18, 1, 2, 26 },
	{ "FSGSBASE", 1ULL << 16, 7, 1, 0 },
	{ "SMEP", 1ULL << 20, 7, 1, 7 },
	{ "SMAP", 1ULL << 21, 7, 1, 20 },
};

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, int reg)
{
	uint32_t *r[] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

	return r[reg];
}

static volatile int cr4_gp;

static void cr4_gp_handler(struct ex_regs *regs)
{
	cr4_gp++;
	regs->rip += 3;		/* mov %rax, %cr4 */
}

static void guest_set_cr4_bit(uint64_t bit)
{
	uint64_t before, after;
	int gps = cr4_gp;	/* shared by the VM's vCPUs */

	guest_set_handler(GP_VECTOR, cr4_gp_handler);
	asm volatile("mov %%cr4, %0" : "=r" (before));
	asm volatile("mov %0, %%cr4" : : "a" (before | bit));
	asm volatile("mov %%cr4, %0" : "=r" (after));
	GUEST_SYNC(cr4_gp - gps, after ^ before);
}

TEST_F(regs, cr4_feature_bits_need_cpuid)
{
	struct kvm_cpuid2 *supported = cpuid_dup(kvm_supported_cpuid());
	struct kvm_sregs sregs;
	struct ucall uc;
	unsigned int i, tried = 0;

	for (i = 0; i < ARRAY_SIZE(cr4_features); i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(supported, cr4_features[i].fn, 0);
		struct vcpu *without, *with;
		struct kvm_cpuid2 *cpuid;

		if (!e || !(*cpuid_reg(e, cr4_features[i].reg) & (1U << cr4_features[i].bit))) {
			TH_LOG("%s: not offered by the host, left out", cr4_features[i].what);
			continue;
		}
		tried++;

		/* Without the CPUID bit. */
		without = vm_vcpu_add(self->vm, 1 + 2 * i);
		cpuid = default_cpuid();
		e = cpuid_find(cpuid, cr4_features[i].fn, 0);
		*cpuid_reg(e, cr4_features[i].reg) &= ~(1U << cr4_features[i].bit);
		vcpu_set_cpuid(without, cpuid);
		free(cpuid);
		vcpu_start_guest(without, guest_set_cr4_bit, 1, cr4_features[i].cr4);
		vcpu_get_sregs(without, &sregs);
		sregs.cr4 |= cr4_features[i].cr4;
		EXPECT_EQ(-EINVAL, __mkvm_ioctl(without->fd, KVM_SET_SREGS,
						(unsigned long)&sregs))
			TH_LOG("KVM_SET_SREGS CR4.%s without CPUID", cr4_features[i].what);
		vcpu_run_expect(without, UCALL_SYNC, &uc);
		EXPECT_EQ(1, uc.args[0]) TH_LOG("guest CR4.%s without CPUID: no #GP",
						cr4_features[i].what);
		EXPECT_EQ(0, uc.args[1]) TH_LOG("CR4 changed");

		/* With it. */
		with = vm_vcpu_add(self->vm, 2 + 2 * i);
		vcpu_set_mode(with, MODE_LONG);
		vcpu_get_sregs(with, &sregs);
		sregs.cr4 |= cr4_features[i].cr4;
		EXPECT_EQ(0, __mkvm_ioctl(with->fd, KVM_SET_SREGS, (unsigned long)&sregs))
			TH_LOG("KVM_SET_SREGS CR4.%s with CPUID", cr4_features[i].what);
		vcpu_get_sregs(with, &sregs);
		EXPECT_EQ(cr4_features[i].cr4, sregs.cr4 & cr4_features[i].cr4);
	}
	free(supported);
	if (!tried)
		SKIP(return, "the host offers none of these features");
}

/*
 * Before KVM_SET_CPUID2, KVM_SET_SREGS takes every CR4 feature bit the
 * hypervisor offers (as KVM, whose CPUID-based reserved bits are computed
 * by KVM_SET_CPUID2; KVM's own set_sregs_test checks it); after a CPUID
 * table without them, they are refused.
 */
TEST(cr4_feature_bits_before_set_cpuid)
{
	struct kvm_cpuid2 *supported = cpuid_dup(kvm_supported_cpuid());
	struct vm *vm = vm_create_bare();
	struct vcpu *vcpu = vm_vcpu_add_raw(vm, 0);
	struct kvm_cpuid2 empty = { .nent = 0 };
	struct kvm_sregs sregs, got;
	uint64_t bits = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cr4_features); i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(supported, cr4_features[i].fn, 0);

		if (e && (*cpuid_reg(e, cr4_features[i].reg) & (1U << cr4_features[i].bit)))
			bits |= cr4_features[i].cr4;
	}
	free(supported);
	if (!bits) {
		vm_free(vm);
		SKIP(return, "the host offers none of these features");
	}
	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr4 |= bits;
	EXPECT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_SREGS, (unsigned long)&sregs));
	vcpu_get_sregs(vcpu, &got);
	EXPECT_EQ(sregs.cr4, got.cr4);

	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_CPUID2, (unsigned long)&empty));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_SREGS, (unsigned long)&sregs));
	sregs.cr4 &= ~bits;
	EXPECT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_SREGS, (unsigned long)&sregs));
	vm_free(vm);
}

TEST_HARNESS_MAIN
