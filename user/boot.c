// SPDX-License-Identifier: GPL-2.0
/*
 * The guest image and the vCPUs' first state.  Every vCPU starts at the
 * entry point in the configured mode with RDI = its index and RSI = the
 * vCPU count (guest.cfg(5)).  Protected and long mode get a flat GDT, and
 * long mode identity page tables for the first 4G, in the last
 * BOOT_TABLES_SIZE bytes of guest memory below 4G.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmrun.h"

#define PAGE_SIZE	4096UL
#define TABLE_GDT	0		/* page offsets in the boot tables */
#define TABLE_PML4	1
#define TABLE_PDPT	2
#define TABLE_PD	3		/* 4 pages: 4G in 2M pages */

#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18

#define CR0_PE		(1ULL << 0)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

static uint64_t tables(const struct vm *vm)
{
	return boot_tables_base(vm->cfg);
}

static void write_tables(struct vm *vm)
{
	uint64_t base = tables(vm);
	uint64_t *gdt = (uint64_t *)(vm->mem + base + TABLE_GDT * PAGE_SIZE);
	uint64_t *pml4 = (uint64_t *)(vm->mem + base + TABLE_PML4 * PAGE_SIZE);
	uint64_t *pdpt = (uint64_t *)(vm->mem + base + TABLE_PDPT * PAGE_SIZE);
	uint64_t i, j;

	gdt[SEL_CODE32 / 8] = 0x00cf9b000000ffffULL;	/* 32-bit code, 4G */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* data, 4G */
	gdt[SEL_CODE64 / 8] = 0x00af9b000000ffffULL;	/* 64-bit code */

	pml4[0] = (base + TABLE_PDPT * PAGE_SIZE) | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++) {
		uint64_t pd_gpa = base + (TABLE_PD + i) * PAGE_SIZE;
		uint64_t *pd = (uint64_t *)(vm->mem + pd_gpa);

		pdpt[i] = pd_gpa | PTE_P | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}
}

static int load_elf(struct vm *vm, const uint8_t *img, size_t size,
		    uint64_t *entry)
{
	struct vm_config *cfg = vm->cfg;
	uint64_t limit = boot_image_limit(cfg);
	struct elf_image e;
	char err[128];
	unsigned int i;

	if (elf_parse(img, size, &e, err, sizeof(err))) {
		config_error(cfg, KEY_IMAGE, "%s: %s", cfg->image, err);
		return -1;
	}
	for (i = 0; i < e.nr; i++) {
		const struct elf_segment *s = &e.seg[i];

		if (s->paddr >= limit || s->memsz > limit - s->paddr) {
			config_error(cfg, KEY_IMAGE,
				     "%s: segment of %#llx bytes at %#llx does not fit below %#llx",
				     cfg->image, (unsigned long long)s->memsz,
				     (unsigned long long)s->paddr,
				     (unsigned long long)limit);
			return -1;
		}
	}
	elf_copy(&e, img, vm->mem);
	*entry = e.entry;
	return 0;
}

/* Copies the image into guest memory; *entry is where the vCPUs start. */
int boot_load_image(struct vm *vm, uint64_t *entry)
{
	struct vm_config *cfg = vm->cfg;
	struct stat st;
	uint8_t *img;
	int fd, r = 0;

	if (format_is_linux(cfg->format))
		return linux_load(vm, entry);
	if (boot_check_image(cfg))
		return -1;
	fd = open(cfg->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		config_error(cfg, KEY_IMAGE, "%s: %s", cfg->image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	img = malloc(st.st_size ? st.st_size : 1);
	if (!img || read(fd, img, st.st_size) != st.st_size) {
		config_error(cfg, KEY_IMAGE, "%s: cannot read it", cfg->image);
		r = -1;
	} else if (cfg->format == FORMAT_ELF) {
		r = load_elf(vm, img, st.st_size, entry);
	} else {
		memcpy(vm->mem + cfg->load, img, st.st_size);
		*entry = cfg->load;
	}
	free(img);
	close(fd);
	if (r)
		return r;
	if (cfg->set[KEY_ENTRY])
		*entry = cfg->entry;
	if (cfg->mode == MODE_REAL && *entry >= 1 << 20) {
		config_error(cfg, KEY_ENTRY, "%#llx is beyond the 1M real mode can reach",
			     (unsigned long long)*entry);
		return -1;
	}
	if (cfg->mode != MODE_REAL)
		write_tables(vm);
	return 0;
}

static struct kvm_segment segment(uint16_t sel, bool code, bool l, bool db)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = code ? 0xb : 0x3, .present = 1, .s = 1,
		.db = db, .l = l, .g = 1,
	};
}

/*
 * What the device supports, with this vCPU's APIC ID (its index) in the
 * leaves that report it: 1 (EBX[31:24]) and the x2APIC topology leaves
 * 0xb and 0x1f (EDX).
 */
static int set_cpuid(struct vcpu *vcpu)
{
	static struct kvm_cpuid2 *supported;
	struct kvm_cpuid2 *cpuid;
	unsigned int i, n = 256;
	size_t size = sizeof(*cpuid) + n * sizeof(cpuid->entries[0]);
	int r;

	if (!supported) {
		supported = calloc(1, size);
		if (!supported)
			return -1;
		supported->nent = n;
		if (ioctl(vcpu->vm->sys_fd, KVM_GET_SUPPORTED_CPUID, supported) < 0) {
			free(supported);
			supported = NULL;
			return -1;
		}
	}
	cpuid = malloc(size);
	if (!cpuid)
		return -1;
	memcpy(cpuid, supported, size);
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (uint32_t)vcpu->id << 24;
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = vcpu->id;
	}
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return r;
}

/* A bzImage: the BSP at the 64-bit entry, the APs wait for INIT/SIPI. */
static int setup_linux_vcpu(struct vcpu *vcpu, uint64_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 2, .rip = entry,
				 .rsi = LINUX_ZERO_PAGE };

	if (vcpu->id)
		return 0;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	sregs.gdt.base = LINUX_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cs = segment(LINUX_BOOT_CS, true, true, false);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
		segment(LINUX_BOOT_DS, false, false, true);
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr4 = CR4_PAE;
	sregs.cr3 = LINUX_PML4;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -1;
	return 0;
}

int boot_setup_vcpu(struct vcpu *vcpu, uint64_t entry)
{
	struct vm *vm = vcpu->vm;
	enum cpu_mode mode = vm->cfg->mode;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (set_cpuid(vcpu) < 0) {
		fprintf(stderr, "vmrun: %s: vCPU %d: setting its CPUID: %s\n",
			vm->cfg->name, vcpu->id, strerror(errno));
		return -1;
	}
	if (format_is_linux(vm->cfg->format)) {
		if (setup_linux_vcpu(vcpu, entry))
			goto fail;
		return 0;
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rdi = vcpu->id;
	regs.rsi = vm->cfg->vcpus;

	if (mode == MODE_REAL) {
		struct kvm_segment s = {
			.selector = (entry >> 4) & 0xf000, .limit = 0xffff,
			.type = 0x3, .present = 1, .s = 1,
		};

		s.base = (uint64_t)s.selector << 4;
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = s;
		s.type = 0xb;
		sregs.cs = s;
		sregs.cr0 = CR0_ET | CR0_NE;
		regs.rip = entry - s.base;
	} else {
		sregs.gdt.base = tables(vm) + TABLE_GDT * PAGE_SIZE;
		sregs.gdt.limit = 4 * 8 - 1;
		sregs.idt.base = 0;
		sregs.idt.limit = 0;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_NE;
		sregs.cs = segment(SEL_CODE32, true, false, true);
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
			segment(SEL_DATA, false, false, true);
		if (mode == MODE_LONG) {
			sregs.cs = segment(SEL_CODE64, true, true, false);
			sregs.cr0 |= CR0_PG;
			sregs.cr4 |= CR4_PAE;
			sregs.cr3 = tables(vm) + TABLE_PML4 * PAGE_SIZE;
			sregs.efer |= EFER_LME | EFER_LMA;
		}
		regs.rip = entry;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "vmrun: %s: vCPU %d: setting its %s mode state: %s\n",
		vm->cfg->name, vcpu->id, cpu_mode_name[mode], strerror(errno));
	return -1;
}
