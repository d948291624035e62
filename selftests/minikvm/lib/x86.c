// SPDX-License-Identifier: GPL-2.0
/*
 * x86 guest state: the standard VM layout, CPU modes, CPUID and MSRs
 * (see x86.h).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "guest.h"
#include "ucall.h"
#include "x86.h"

#define PAGE_SIZE	4096UL

const char *const cpu_mode_name[NR_CPU_MODES] = {
	[MODE_REAL] = "real mode",
	[MODE_PROT32] = "32-bit protected mode",
	[MODE_PAGING32] = "32-bit paging",
	[MODE_PAE] = "32-bit PAE paging",
	[MODE_LONG] = "64-bit long mode",
};

/*
 * The GDT, in one table from which both the descriptors in guest memory
 * and the segment caches given to KVM_SET_SREGS are made.
 */
struct gdt_entry {
	uint16_t sel;
	uint32_t limit;		/* in units of the granularity */
	uint8_t type;
	uint8_t s;		/* code/data (1) or system (0) */
	uint8_t db, l, g;
	uint8_t dpl;
};

static const struct gdt_entry gdt[] = {
	{ GDT_CODE32, 0xfffff, 0xb, 1, 1, 0, 1, 0 },
	{ GDT_DATA,   0xfffff, 0x3, 1, 1, 0, 1, 0 },
	{ GDT_CODE64, 0xfffff, 0xb, 1, 0, 1, 1, 0 },
	{ GDT_CODE16, 0xffff,  0xb, 1, 0, 0, 0, 0 },
	{ GDT_DATA16, 0xffff,  0x3, 1, 0, 0, 0, 0 },
	/* 64-bit (or 32-bit) available TSS; TR holds it as busy (0xb). */
	{ GDT_TSS,    0x67,    0x9, 0, 0, 0, 0, 0 },
	/* For CPL 3 (guest_run_user()). */
	{ GDT_UDATA,  0xfffff, 0x3, 1, 1, 0, 1, 3 },
	{ GDT_UCODE64, 0xfffff, 0xb, 1, 0, 1, 1, 3 },
};

static const struct gdt_entry *gdt_lookup(uint16_t sel)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gdt); i++)
		if (gdt[i].sel == sel)
			return &gdt[i];
	TEST_ASSERT(0, "no GDT entry %#x", sel);
	return NULL;
}

static struct kvm_segment gdt_segment(uint16_t sel, uint64_t base)
{
	const struct gdt_entry *e = gdt_lookup(sel);

	return (struct kvm_segment){
		.base = base,
		.limit = e->g ? (e->limit << 12) | 0xfff : e->limit,
		.selector = sel,
		.type = e->type,
		.present = 1,
		.db = e->db,
		.s = e->s,
		.dpl = e->dpl,
		.l = e->l,
		.g = e->g,
	};
}

static void write_gdt(struct vm *vm)
{
	uint64_t *d = gpa2hva(vm, GDT_GPA);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gdt); i++) {
		const struct gdt_entry *e = &gdt[i];
		uint64_t base = e->sel == GDT_TSS ? TSS_GPA : 0;
		/* P, DPL, S, type */
		uint64_t access = 0x80 | (e->dpl << 5) | (e->s << 4) | e->type;
		uint64_t flags = (e->g << 3) | (e->db << 2) | (e->l << 1);

		d[e->sel / 8] = (e->limit & 0xffff) | ((base & 0xffffff) << 16) |
				(access << 40) | ((uint64_t)(e->limit >> 16) << 48) |
				(flags << 52) | ((base >> 24 & 0xff) << 56);
		if (e->sel == GDT_TSS)
			d[e->sel / 8 + 1] = base >> 32;
	}
}

/* Identity maps of the first 4 GiB for 4-level, PAE and 32-bit paging. */
static void write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gpa2hva(vm, PML4_GPA);
	uint64_t *pdpt = gpa2hva(vm, PDPT_GPA);
	uint64_t *pae_pdpt = gpa2hva(vm, PAE_PDPT_GPA);
	uint32_t *pd32 = gpa2hva(vm, PD32_GPA);
	uint32_t *pt32 = gpa2hva(vm, PT32_GPA);
	uint64_t i, j;

	pml4[0] = PDPT_GPA | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++) {
		uint64_t *pd = gpa2hva(vm, PD_GPA + i * PAGE_SIZE);

		pdpt[i] = (PD_GPA + i * PAGE_SIZE) | PTE_P | PTE_RW;
		/* PAE PDPTEs have no RW/US bits: those are reserved there. */
		pae_pdpt[i] = (PD_GPA + i * PAGE_SIZE) | PTE_P;
		for (j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}

	/* 32-bit: 4 KiB pages for the first 4 MiB, 4 MiB pages above. */
	pd32[0] = PT32_GPA | PTE_P | PTE_RW;
	for (i = 1; i < 1024; i++)
		pd32[i] = (i << 22) | PTE_P | PTE_RW | PTE_PS;
	for (i = 0; i < 1024; i++)
		pt32[i] = (i << 12) | PTE_P | PTE_RW;
}

/*
 * 64-bit interrupt gates to guest_exc_stubs, all on IST1; only
 * USER_RETURN_VECTOR may be raised from CPL 3 by INT.
 */
static void write_idt(struct vm *vm)
{
	uint64_t *idt = gpa2hva(vm, IDT_GPA);
	unsigned int v;

	for (v = 0; v < 256; v++) {
		uint64_t off = (uint64_t)guest_exc_stubs + 16 * v;

		/* Each stub starts with a PUSH imm8 or imm32. */
		TEST_ASSERT(guest_exc_stubs[16 * v] == 0x6a ||
			    guest_exc_stubs[16 * v] == 0x68,
			    "exception stub %u is not where expected", v);

		idt[2 * v] = (off & 0xffff) | ((uint64_t)GDT_CODE64 << 16) |
			     (1ULL << 32) |		/* IST1 */
			     /* P, DPL, interrupt gate */
			     ((v == USER_RETURN_VECTOR ? 0xeeULL : 0x8eULL) << 40) |
			     ((off >> 16 & 0xffff) << 48);
		idt[2 * v + 1] = off >> 32;
	}
}

/*
 * Copy this very program's loaded segments into guest memory at their
 * own addresses.  They are copied from the running process (not the
 * file), so the guest starts with the globals as the host set them.
 * Returns the end of the image.
 */
static uint64_t load_image(struct vm *vm)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM), i;
	uint64_t end = 0;

	TEST_ASSERT(ph && n, "no program headers in the auxiliary vector");
	for (i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph[i].p_vaddr >= HIGH_MEM_GPA &&
			    ph[i].p_vaddr + ph[i].p_memsz <= HIGH_MEM_END / 2,
			    "segment at %#lx does not fit in guest memory "
			    "(the tests must be static, non-PIE binaries)",
			    (unsigned long)ph[i].p_vaddr);
		memcpy(gpa2hva(vm, ph[i].p_vaddr), (void *)ph[i].p_vaddr,
		       ph[i].p_memsz);
		if (ph[i].p_vaddr + ph[i].p_memsz > end)
			end = ph[i].p_vaddr + ph[i].p_memsz;
	}
	return end;
}

struct vm *vm_create(void)
{
	struct vm *vm = vm_create_bare();
	uint64_t end;

	vm_add_region(vm, SLOT_LOW, 0, 0, LOW_MEM_SIZE);
	vm_add_region(vm, SLOT_HIGH, 0, HIGH_MEM_GPA, HIGH_MEM_END - HIGH_MEM_GPA);
	write_gdt(vm);
	write_page_tables(vm);
	write_idt(vm);
	end = load_image(vm);

	vm->standard = true;
	vm->next_page = (end + 0x1fffff) & ~0x1fffffUL;
	vm->alloc_end = HIGH_MEM_END;
	return vm;
}

struct vcpu *vm_vcpu_add(struct vm *vm, int id)
{
	struct vcpu *vcpu = vm_vcpu_add_raw(vm, id);
	struct kvm_cpuid2 *cpuid = default_cpuid();

	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);

	if (vm->standard) {
		uint64_t *tss;

		vcpu->stack_top = vm_alloc_pages(vm, 4) + 4 * PAGE_SIZE;
		vcpu->ist_top = vm_alloc_pages(vm, 2) + 2 * PAGE_SIZE;
		vcpu->tss = vm_alloc_pages(vm, 1);
		/* 64-bit TSS: IST1 at offset 0x24, no I/O bitmap. */
		tss = gpa2hva(vm, vcpu->tss + 0x24);
		memcpy(tss, &vcpu->ist_top, 8);
		*(uint16_t *)gpa2hva(vm, vcpu->tss + 0x66) = 0x68;
	}
	return vcpu;
}

void vcpu_set_mode(struct vcpu *vcpu, enum cpu_mode mode)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment code, data;

	vcpu_get_sregs(vcpu, &sregs);

	sregs.cr0 = CR0_ET | CR0_NE;
	sregs.cr4 = 0;
	sregs.efer = 0;
	sregs.cr3 = 0;
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = GDT_LIMIT;
	/* No IDT but the IVT and the 64-bit one: a raw test sets its own. */
	sregs.idt.base = 0;
	sregs.idt.limit = mode == MODE_REAL ? 0x3ff : 0;

	if (mode == MODE_REAL) {
		code = (struct kvm_segment){
			.base = CODE_GPA, .limit = 0xffff,
			.selector = CODE_GPA >> 4, .type = 0xb,
			.present = 1, .s = 1,
		};
		data = code;
		data.type = 0x3;
		sregs.ss = data;
		sregs.ss.base = STACK_GPA & ~0xffffUL;
		sregs.ss.selector = sregs.ss.base >> 4;
		sregs.tr = (struct kvm_segment){
			.limit = 0xffff, .type = 0xb, .present = 1,
		};
	} else {
		sregs.cr0 |= CR0_PE;
		code = gdt_segment(mode == MODE_LONG ? GDT_CODE64 : GDT_CODE32, 0);
		data = gdt_segment(GDT_DATA, 0);
		sregs.ss = data;
		sregs.tr = gdt_segment(GDT_TSS, TSS_GPA);
		sregs.tr.type = 0xb;	/* busy */
	}
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = data;
	sregs.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };

	switch (mode) {
	case MODE_PAGING32:
		sregs.cr0 |= CR0_PG | CR0_WP;
		sregs.cr4 |= CR4_PSE;
		sregs.cr3 = PD32_GPA;
		break;
	case MODE_PAE:
		sregs.cr0 |= CR0_PG | CR0_WP;
		sregs.cr4 |= CR4_PAE;
		sregs.cr3 = PAE_PDPT_GPA;
		break;
	case MODE_LONG:
		sregs.cr0 |= CR0_PG | CR0_WP | CR0_MP;
		sregs.cr4 |= CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		sregs.efer = EFER_LME | EFER_LMA;
		sregs.cr3 = PML4_GPA;
		sregs.idt.base = IDT_GPA;
		sregs.idt.limit = 0xfff;
		if (vcpu->tss)
			sregs.tr.base = vcpu->tss;
		break;
	default:
		break;
	}
	vcpu_set_sregs(vcpu, &sregs);

	vcpu_get_regs(vcpu, &regs);
	regs.rflags = RFLAGS_FIXED;
	vcpu_set_regs(vcpu, &regs);
}

void __vcpu_load_snippet(struct vcpu *vcpu, enum cpu_mode mode,
			 const char *start, const char *end)
{
	struct kvm_regs regs;

	TEST_ASSERT(end > start && end - start <= (long)CODE_SIZE,
		    "snippet of %ld bytes", (long)(end - start));
	memcpy(gpa2hva(vcpu->vm, CODE_GPA), start, end - start);
	vcpu_set_mode(vcpu, mode);

	memset(&regs, 0, sizeof(regs));
	regs.rflags = RFLAGS_FIXED;
	regs.rip = mode == MODE_REAL ? 0 : CODE_GPA;
	regs.rsp = mode == MODE_REAL ? (STACK_GPA & 0xffff) : STACK_GPA;
	vcpu_set_regs(vcpu, &regs);
}

void vcpu_start_guest(struct vcpu *vcpu, void *fn, int nargs, ...)
{
	uint64_t ret = (uint64_t)guest_return;
	struct kvm_regs regs;
	uint64_t args[4] = { 0 };
	va_list ap;
	int i;

	TEST_ASSERT(vcpu->stack_top, "vCPU %d has no stack (vm_create() VM?)",
		    vcpu->id);
	TEST_ASSERT(nargs <= 4, "%d arguments", nargs);
	va_start(ap, nargs);
	for (i = 0; i < nargs; i++)
		args[i] = va_arg(ap, uint64_t);
	va_end(ap);

	vcpu_set_mode(vcpu, MODE_LONG);

	/* As if called: the return address on a 16-byte aligned stack. */
	memset(&regs, 0, sizeof(regs));
	regs.rsp = vcpu->stack_top - 8;
	memcpy(gpa2hva(vcpu->vm, regs.rsp), &ret, 8);
	regs.rip = (uint64_t)fn;
	regs.rflags = RFLAGS_FIXED;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.rcx = args[3];
	vcpu_set_regs(vcpu, &regs);
}

/* ---- CPL 3 ---------------------------------------------------------- */

uint64_t vm_user_tables(struct vm *vm)
{
	uint64_t pml4 = vm_alloc_pages(vm, 1), pdpt = vm_alloc_pages(vm, 1);
	uint64_t pd = vm_alloc_pages(vm, 4);
	uint64_t *p;
	unsigned int i;

	memcpy(gpa2hva(vm, pd), gpa2hva(vm, PD_GPA), 4 * PAGE_SIZE);
	p = gpa2hva(vm, pd);
	for (i = 0; i < 4 * 512; i++)
		p[i] |= PTE_US;
	p = gpa2hva(vm, pdpt);
	for (i = 0; i < 4; i++)
		p[i] = (pd + i * PAGE_SIZE) | PTE_P | PTE_RW | PTE_US;
	*(uint64_t *)gpa2hva(vm, pml4) = pdpt | PTE_P | PTE_RW | PTE_US;
	return pml4;
}

uint64_t *vm_user_pte(struct vm *vm, uint64_t cr3, uint64_t gva)
{
	uint64_t *pml4 = gpa2hva(vm, cr3 & ~0xfffUL);
	uint64_t *pdpt, *pd, *pt, pde, base;
	unsigned int i;

	TEST_ASSERT(gva < (4UL << 30), "%#lx is not in the identity map",
		    (unsigned long)gva);
	pdpt = gpa2hva(vm, pml4[0] & PTE_ADDR);
	pd = gpa2hva(vm, pdpt[gva >> 30] & PTE_ADDR);
	pde = pd[(gva >> 21) & 511];
	if (pde & PTE_PS) {
		/* Split the 2 MiB page into 4 KiB ones with the same bits. */
		uint64_t t = vm_alloc_pages(vm, 1);

		pt = gpa2hva(vm, t);
		base = pde & ~(PTE_PS | 0x1fffffUL);
		for (i = 0; i < 512; i++)
			pt[i] = (pde & (0xfffUL | (1UL << 63)) & ~PTE_PS) |
				(base + i * PAGE_SIZE);
		pd[(gva >> 21) & 511] = t | PTE_P | PTE_RW | PTE_US;
	} else {
		pt = gpa2hva(vm, pde & PTE_ADDR);
	}
	return &pt[(gva >> 12) & 511];
}

void vcpu_set_cr3(struct vcpu *vcpu, uint64_t cr3)
{
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr3 = cr3;
	vcpu_set_sregs(vcpu, &sregs);
}

/* ---- CPUID ---------------------------------------------------------- */

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	TEST_ASSERT(c, "out of memory");
	c->nent = nent;
	return c;
}

bool host_is_amd(void)
{
	uint32_t a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	/* "AuthenticAMD" or "HygonGenuine": EBX "Auth" / "Hygo". */
	return b == 0x68747541 || b == 0x6f677948;
}

const struct kvm_cpuid2 *kvm_supported_cpuid(void)
{
	static struct kvm_cpuid2 *supported;
	unsigned int nent = 64;
	int fd, r;

	if (supported)
		return supported;
	fd = kvm_open();
	for (;;) {
		supported = cpuid_alloc(nent);
		r = __mkvm_ioctl(fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)supported);
		if (r != -E2BIG)
			break;
		free(supported);
		nent *= 2;
		TEST_ASSERT(nent <= 4096, "KVM_GET_SUPPORTED_CPUID keeps saying E2BIG");
	}
	TEST_ASSERT(!r, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	close(fd);
	return supported;
}

struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid2 *c = cpuid_alloc(cpuid->nent);

	memcpy(c->entries, cpuid->entries, cpuid->nent * sizeof(c->entries[0]));
	return c;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid,
				    uint32_t function, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

struct kvm_cpuid2 *default_cpuid(void)
{
	struct kvm_cpuid2 *c = cpuid_dup(kvm_supported_cpuid());
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000001, 0);

	/* No nested virtualization for the tests' guests. */
	if (e)
		e->ecx &= ~CPUID_8000_0001_ECX_SVM;
	return c;
}

void vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid)
{
	kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
}

/* ---- MSRs ----------------------------------------------------------- */

int __vcpu_msrs(struct vcpu *vcpu, unsigned long req,
		struct kvm_msr_entry *entries, unsigned int n)
{
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(*entries));
	int r;

	TEST_ASSERT(msrs, "out of memory");
	msrs->nmsrs = n;
	memcpy(msrs->entries, entries, n * sizeof(*entries));
	r = __mkvm_ioctl(vcpu->fd, req, (unsigned long)msrs);
	memcpy(entries, msrs->entries, n * sizeof(*entries));
	free(msrs);
	return r;
}

uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index)
{
	struct kvm_msr_entry e = { .index = index };
	int r = __vcpu_msrs(vcpu, KVM_GET_MSRS, &e, 1);

	TEST_ASSERT(r == 1, "KVM_GET_MSRS %#x: returned %d", index, r);
	return e.data;
}

void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct kvm_msr_entry e = { .index = index, .data = value };
	int r = __vcpu_msrs(vcpu, KVM_SET_MSRS, &e, 1);

	TEST_ASSERT(r == 1, "KVM_SET_MSRS %#x = %#lx: returned %d", index,
		    (unsigned long)value, r);
}

void run_guest_to_done(void *fn)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_vcpu_add(vm, 0);

	vcpu_start_guest(vcpu, fn, 0);
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
	vm_free(vm);
}
