// SPDX-License-Identifier: GPL-2.0
/*
 * Booting a Linux bzImage through its 64-bit entry point (the kernel's
 * Documentation/x86/boot.rst, "64-bit Boot Protocol"): the protected-mode
 * kernel at 1M, a zero page (struct boot_params) with the image's setup
 * header, the command line, the initrd and an e820 map, a GDT with the
 * protocol's selectors and identity page tables for the first 4G, all in
 * low memory that the e820 map gives the kernel back:
 *
 *   0x00500  GDT (null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x07000  zero page
 *   0x09000  PML4, 0x0a000 PDPT, 0x0b000-0x0efff four PDs of 2M pages
 *   0x20000  command line (at most LINUX_CMDLINE_MAX bytes with its NUL)
 *   0x9fc00  reserved to the end of the 640K, and 0xf0000-0xfffff (BIOS):
 *            the ACPI tables (acpi.c), the RSDP at 0xf0000
 *   1M       the kernel; the initrd as high as the header allows
 *
 * The parsing and the layout take no KVM: selftests/unit/linux_test.c
 * links this file with config.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vmrun.h"

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PAGE_SIZE	4096UL

#define HDR_MAGIC	0x53726448	/* "HdrS" */
#define BOOT_FLAG	0xaa55
/* XLF_KERNEL_64 and its 64-bit entry at load + 0x200: protocol 2.12. */
#define MIN_VERSION	0x020c

/* The setup header's place in the image and in the zero page. */
#define HDR_OFFSET	offsetof(struct boot_params, hdr)

int linux_parse(const uint8_t *img, size_t size, struct linux_kernel *k,
		char *err, size_t n)
{
	const struct setup_header *h = (const void *)(img + HDR_OFFSET);
	uint64_t setup;

	if (size < HDR_OFFSET + sizeof(*h) || h->boot_flag != BOOT_FLAG ||
	    h->header != HDR_MAGIC)
		return errf(err, n, "not a Linux bzImage (no \"HdrS\" setup header)");
	if (h->version < MIN_VERSION)
		return errf(err, n, "boot protocol %u.%02u is older than 2.12, which the 64-bit entry needs",
			    h->version >> 8, h->version & 0xff);
	if (!(h->xloadflags & XLF_KERNEL_64) || !(h->loadflags & LOADED_HIGH))
		return errf(err, n, "not a 64-bit kernel (no 64-bit entry point)");
	setup = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (setup >= size)
		return errf(err, n, "truncated: %zu bytes, but its setup code alone is %llu",
			    size, (unsigned long long)setup);
	/* The header says how much the kernel is: 16-byte units. */
	if ((uint64_t)h->syssize * 16 > size - setup)
		return errf(err, n, "truncated: %zu bytes, the header says %llu",
			    size, (unsigned long long)setup + h->syssize * 16ULL);
	memset(k, 0, sizeof(*k));
	memcpy(&k->hdr, h, sizeof(*h));
	k->kernel = img + setup;
	k->kernel_size = size - setup;
	k->entry = LINUX_KERNEL + 0x200;
	return 0;
}

/*
 * A vmlinux: the kernel proper as a 64-bit ELF executable, entered at
 * e_entry (startup_64) in long mode with the zero page in RSI, as a
 * bzImage's decompressor enters it.  Its segments go to their p_paddr
 * (at or above 1M); vmrun writes the setup header a bzImage would have
 * brought: the protocol's magic, no relocation, the initrd below 2G, a
 * 2047-byte command line (x86's COMMAND_LINE_SIZE, less the NUL).
 */
int linux_parse_vmlinux(const uint8_t *img, size_t size,
			struct linux_kernel *k, char *err, size_t n)
{
	uint64_t end = 0;
	bool entry_in = false;
	unsigned int i;

	memset(k, 0, sizeof(*k));
	if (elf_parse(img, size, &k->elf, err, n))
		return -1;
	if (!k->elf.is64)
		return errf(err, n, "a 32-bit ELF file, not a 64-bit Linux kernel");
	if (!k->elf.nr)
		return errf(err, n, "no PT_LOAD segment");
	for (i = 0; i < k->elf.nr; i++) {
		const struct elf_segment *s = &k->elf.seg[i];

		if (s->paddr < LINUX_KERNEL)
			return errf(err, n, "a segment at %#llx, below the 1M a Linux kernel starts at",
				    (unsigned long long)s->paddr);
		if (s->paddr + s->memsz > end)
			end = s->paddr + s->memsz;
		if (k->elf.entry >= s->paddr && k->elf.entry < s->paddr + s->memsz)
			entry_in = true;
	}
	if (!entry_in)
		return errf(err, n, "entry point %#llx is in no segment (not a vmlinux, whose e_entry is physical)",
			    (unsigned long long)k->elf.entry);
	k->is_elf = true;
	k->entry = k->elf.entry;
	k->hdr.boot_flag = BOOT_FLAG;
	k->hdr.header = HDR_MAGIC;
	k->hdr.version = MIN_VERSION;
	k->hdr.loadflags = LOADED_HIGH;
	k->hdr.xloadflags = XLF_KERNEL_64;
	k->hdr.initrd_addr_max = 0x7fffffff;
	k->hdr.cmdline_size = 2047;
	k->hdr.pref_address = LINUX_KERNEL;
	k->hdr.init_size = end - LINUX_KERNEL;
	return 0;
}

unsigned int linux_e820(uint64_t low, uint64_t high,
			struct boot_e820_entry *e)
{
	unsigned int i = 0;

	e[i++] = (struct boot_e820_entry){ 0, LINUX_EBDA, E820_RAM };
	e[i++] = (struct boot_e820_entry){ LINUX_EBDA, 0xa0000 - LINUX_EBDA,
					   E820_RESERVED };
	e[i++] = (struct boot_e820_entry){ 0xf0000, 0x10000, E820_RESERVED };
	e[i++] = (struct boot_e820_entry){ LINUX_KERNEL, low - LINUX_KERNEL,
					   E820_RAM };
	if (high)
		e[i++] = (struct boot_e820_entry){ HIGH_MEM_BASE, high, E820_RAM };
	return i;
}

/*
 * The boot protocol's memory window: a relocatable kernel decompresses
 * at its load address raised to pref_address and aligned to
 * kernel_alignment, another at pref_address, and needs init_size bytes
 * from there (Documentation/x86/boot.rst, "init_size").
 */
uint64_t linux_kernel_end(const struct linux_kernel *k)
{
	uint64_t start = k->hdr.pref_address, end;
	uint64_t align = k->hdr.kernel_alignment;

	/* A vmlinux runs where its segments are, up to init_size's end. */
	if (!k->is_elf && k->hdr.relocatable_kernel) {
		start = start > LINUX_KERNEL ? start : LINUX_KERNEL;
		if (align && !(align & (align - 1)))
			start = (start + align - 1) & ~(align - 1);
	}
	end = start + k->hdr.init_size;
	if (end < LINUX_KERNEL + k->kernel_size)
		end = LINUX_KERNEL + k->kernel_size;
	return (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

uint64_t linux_initrd_addr(const struct linux_kernel *k, uint64_t mem,
			   uint64_t size)
{
	uint64_t top = (uint64_t)k->hdr.initrd_addr_max + 1;
	uint64_t addr;

	if (top > mem)
		top = mem;
	if (size > top)
		return 0;
	addr = (top - size) & ~(PAGE_SIZE - 1);
	return addr >= linux_kernel_end(k) ? addr : 0;
}

/* The whole of a regular file, or NULL with the reason in err. */
static uint8_t *read_file(const char *path, size_t *size, char *err, size_t n)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		errf(err, n, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		errf(err, n, "%s: not a regular file", path);
		goto out;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		errf(err, n, "%s: out of memory", path);
		goto out;
	}
	if (read(fd, buf, st.st_size) != st.st_size) {
		errf(err, n, "%s: cannot read it", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*size = st.st_size;
out:
	close(fd);
	return buf;
}

static void write_tables(uint8_t *mem)
{
	uint64_t *gdt = (uint64_t *)(mem + LINUX_GDT);
	uint64_t *pml4 = (uint64_t *)(mem + LINUX_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + LINUX_PML4 + PAGE_SIZE);
	uint64_t i, j;

	memset(gdt, 0, 4 * 8);
	gdt[LINUX_BOOT_CS / 8] = 0x00af9b000000ffffULL;	/* 64-bit code */
	gdt[LINUX_BOOT_DS / 8] = 0x00cf93000000ffffULL;	/* data, 4G */
	memset(pml4, 0, 6 * PAGE_SIZE);
	pml4[0] = (LINUX_PML4 + PAGE_SIZE) | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++) {
		uint64_t pd_gpa = LINUX_PML4 + (2 + i) * PAGE_SIZE;
		uint64_t *pd = (uint64_t *)(mem + pd_gpa);

		pdpt[i] = pd_gpa | PTE_P | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}
}

int linux_load(struct vm *vm, uint64_t *entry)
{
	struct vm_config *cfg = vm->cfg;
	struct boot_params *zp = (void *)(vm->mem + LINUX_ZERO_PAGE);
	struct linux_kernel k;
	uint8_t *img, *initrd = NULL;
	size_t size, initrd_size = 0, cmdline_len = strlen(cfg->cmdline);
	uint64_t initrd_addr = 0, low = config_low_memory(cfg);
	/* The virtio-mmio devices and pvpanic, which vmrun.c creates. */
	struct acpi_dev devs[VIRTIO_MAX_DEVS + 1];
	struct virtio_slot slots[VIRTIO_MAX_DEVS];
	unsigned int i, nslots = virtio_slots(cfg, slots);
	char err[256];
	int r = -1;

	img = read_file(cfg->image, &size, err, sizeof(err));
	if (!img) {
		config_error(cfg, KEY_IMAGE, "%s", err);
		return -1;
	}
	if (cfg->format == FORMAT_VMLINUX ?
	    linux_parse_vmlinux(img, size, &k, err, sizeof(err)) :
	    linux_parse(img, size, &k, err, sizeof(err))) {
		config_error(cfg, KEY_IMAGE, "%s: %s", cfg->image, err);
		goto out;
	}
	if (linux_kernel_end(&k) > low) {
		config_error(cfg, low < cfg->memory ? KEY_RAM_BELOW_4G : KEY_MEMORY,
			     "%lluM is too small for %s, which needs %lluM to start",
			     (unsigned long long)low >> 20, cfg->image,
			     (unsigned long long)(linux_kernel_end(&k) + (1 << 20) - 1) >> 20);
		goto out;
	}
	if (cmdline_len > k.hdr.cmdline_size) {
		config_error(cfg, KEY_CMDLINE, "%zu bytes: %s takes at most %u",
			     cmdline_len, cfg->image, k.hdr.cmdline_size);
		goto out;
	}
	if (cfg->initrd[0]) {
		initrd = read_file(cfg->initrd, &initrd_size, err, sizeof(err));
		if (!initrd) {
			config_error(cfg, KEY_INITRD, "%s", err);
			goto out;
		}
		initrd_addr = linux_initrd_addr(&k, low, initrd_size);
		if (!initrd_addr) {
			config_error(cfg, KEY_INITRD, "%s: %zu bytes do not fit between the kernel's end (%#llx) and %#llx",
				     cfg->initrd, initrd_size,
				     (unsigned long long)linux_kernel_end(&k),
				     (unsigned long long)(low < (uint64_t)k.hdr.initrd_addr_max + 1 ?
							  low : (uint64_t)k.hdr.initrd_addr_max + 1));
			goto out;
		}
		memcpy(vm->mem + initrd_addr, initrd, initrd_size);
	}
	memset(zp, 0, sizeof(*zp));
	if (k.is_elf) {
		elf_copy(&k.elf, img, vm->mem);
		zp->hdr = k.hdr;
	} else {
		memcpy(vm->mem + LINUX_KERNEL, k.kernel, k.kernel_size);
		/* The header with its jump and length byte, as the image has it. */
		memcpy(&zp->hdr, img + HDR_OFFSET,
		       0x202 + img[0x201] - HDR_OFFSET < sizeof(zp->hdr) ?
		       0x202 + img[0x201] - HDR_OFFSET : sizeof(zp->hdr));
	}
	zp->hdr.type_of_loader = 0xff;		/* undefined loader */
	zp->hdr.vid_mode = 0xffff;		/* "normal" */
	zp->hdr.cmd_line_ptr = LINUX_CMDLINE;
	zp->hdr.ramdisk_image = initrd_addr;
	zp->hdr.ramdisk_size = initrd_size;
	zp->e820_entries = linux_e820(low, cfg->memory - low, zp->e820_table);
	for (i = 0; i < nslots; i++)
		devs[i] = (struct acpi_dev){
			.base = slots[i].base, .size = VIRTIO_MMIO_SIZE,
			.gsi = slots[i].gsi, .hid = "LNRO0005",
		};
	devs[i] = (struct acpi_dev){
		.base = PVPANIC_PORT, .size = 1, .gsi = -1, .io = true,
		.hid = "QEMU0001", .name = "PEVT",
	};
	if (!acpi_build(vm->mem + ACPI_BASE, ACPI_SIZE, ACPI_BASE, cfg->vcpus,
			devs, nslots + 1)) {
		config_error(cfg, KEY_VCPUS, "%u vCPUs: at most 255 in the ACPI tables",
			     cfg->vcpus);
		goto out;
	}
	zp->acpi_rsdp_addr = ACPI_BASE;
	memcpy(vm->mem + LINUX_CMDLINE, cfg->cmdline, cmdline_len + 1);
	write_tables(vm->mem);
	*entry = k.entry;
	r = 0;
out:
	free(initrd);
	free(img);
	return r;
}
