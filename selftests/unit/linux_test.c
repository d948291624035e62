// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of vmrun's Linux boot (user/linux.c) and ACPI
 * tables (user/acpi.c): the bzImage checks on made-up images, the e820
 * map, where the initrd goes, and the tables' checksums, pointers and
 * entries.  Built and run by selftests/unit/run.sh.
 */
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "vmrun.h"

#define HDR	offsetof(struct boot_params, hdr)

/* platform.c names the device types; their code is not linked here. */
const struct virtio_type virtio_blk, virtio_rng;

/* A bzImage-shaped buffer: 4 setup sectors, then kernel bytes. */
static uint8_t *image(size_t size)
{
	uint8_t *img = calloc(1, size);
	struct setup_header *h = (void *)(img + HDR);

	h->setup_sects = 4;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64;
	h->syssize = (size - 5 * 512) / 16;
	h->initrd_addr_max = 0x7fffffff;
	h->cmdline_size = 2047;
	h->init_size = 0x800000;
	h->relocatable_kernel = 1;
	h->kernel_alignment = 0x200000;
	h->pref_address = 0x1000000;
	return img;
}

TEST(parses_a_good_image)
{
	uint8_t *img = image(64 << 10);
	struct linux_kernel k;
	char err[128] = "";

	ASSERT_EQ(0, linux_parse(img, 64 << 10, &k, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(img + 5 * 512, k.kernel);
	EXPECT_EQ((64 << 10) - 5 * 512, k.kernel_size);
	EXPECT_EQ(2047, k.hdr.cmdline_size);
	/* setup_sects 0 means 4. */
	((struct setup_header *)(img + HDR))->setup_sects = 0;
	ASSERT_EQ(0, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_EQ(img + 5 * 512, k.kernel);
	free(img);
}

TEST(refuses_bad_images)
{
	uint8_t *img = image(64 << 10);
	struct setup_header *h = (void *)(img + HDR);
	struct linux_kernel k;
	char err[128];

	EXPECT_EQ(-1, linux_parse(img, 0x100, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a Linux bzImage"));
	h->header = 0;
	EXPECT_EQ(-1, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a Linux bzImage"));
	h->header = 0x53726448;
	h->boot_flag = 0;
	EXPECT_EQ(-1, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	h->boot_flag = 0xaa55;
	h->version = 0x020b;
	EXPECT_EQ(-1, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "2.11 is older than 2.12")) TH_LOG("%s", err);
	h->version = 0x020f;
	h->xloadflags = 0;
	EXPECT_EQ(-1, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a 64-bit kernel"));
	h->xloadflags = XLF_KERNEL_64;
	/* Setup code alone, then a kernel shorter than syssize says. */
	EXPECT_EQ(-1, linux_parse(img, 5 * 512, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated"));
	EXPECT_EQ(-1, linux_parse(img, (64 << 10) - 16, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated")) TH_LOG("%s", err);
	/* 255 setup sectors: more than the file. */
	h->setup_sects = 255;
	EXPECT_EQ(-1, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated"));
	free(img);
}

/*
 * A vmlinux-shaped ELF: two PT_LOAD segments (16M and 20M, the second
 * with BSS) and a note, entry at the first; 64 KiB of file.
 */
static uint8_t *vmlinux(size_t size)
{
	uint8_t *img = calloc(1, size);
	Elf64_Ehdr *e = (void *)img;
	Elf64_Phdr *ph = (void *)(img + sizeof(*e));

	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_entry = 0x1000000;
	e->e_phoff = sizeof(*e);
	e->e_phnum = 3;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
			      .p_paddr = 0x1000000, .p_filesz = 0x1000,
			      .p_memsz = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x1800,
			      .p_paddr = 0x10, .p_filesz = 0x10, .p_memsz = 0x10 };
	ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x2000,
			      .p_paddr = 0x1400000, .p_filesz = 0x1000,
			      .p_memsz = 0x300000 };
	return img;
}

TEST(parses_a_vmlinux)
{
	uint8_t *img = vmlinux(64 << 10);
	struct linux_kernel k;
	char err[128] = "";

	ASSERT_EQ(0, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_TRUE(k.is_elf);
	EXPECT_EQ(0x1000000, k.entry);
	ASSERT_EQ(2, k.elf.nr);		/* the note is not loaded */
	EXPECT_EQ(0x1400000, k.elf.seg[1].paddr);
	EXPECT_EQ(0x2000, k.elf.seg[1].off);
	/* vmrun's header: what the kernel reads from a bzImage's. */
	EXPECT_EQ(0xaa55, k.hdr.boot_flag);
	EXPECT_EQ(0x53726448, k.hdr.header);
	EXPECT_EQ(2047, k.hdr.cmdline_size);
	EXPECT_EQ(0x7fffffff, k.hdr.initrd_addr_max);
	/* It needs memory to the end of its last segment's BSS. */
	EXPECT_EQ(0x1700000, linux_kernel_end(&k));
	EXPECT_EQ(0, linux_initrd_addr(&k, 0x1700000, 4096));
	EXPECT_EQ(0x1800000 - 0x2000, linux_initrd_addr(&k, 0x1800000, 0x2000));
	free(img);
}

TEST(refuses_bad_vmlinux)
{
	uint8_t *img = vmlinux(64 << 10);
	Elf64_Ehdr *e = (void *)img;
	Elf64_Phdr *ph = (void *)(img + sizeof(*e));
	struct linux_kernel k;
	char err[128];

	/* A bzImage, or nothing like ELF. */
	EXPECT_EQ(-1, linux_parse_vmlinux(img + 1, (64 << 10) - 1, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a little-endian ELF executable")) TH_LOG("%s", err);
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 32, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a little-endian ELF executable")) TH_LOG("%s", err);
	/* Its program headers or a segment's bytes beyond the file. */
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 0x2800, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated")) TH_LOG("%s", err);
	e->e_phoff = (64 << 10) - 8;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated")) TH_LOG("%s", err);
	e->e_phoff = sizeof(*e);
	/* A segment that wraps around the address space. */
	ph[2].p_memsz = -0x1000ULL;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated or corrupt")) TH_LOG("%s", err);
	ph[2].p_memsz = 0x300000;
	/* Below 1M, where vmrun's tables are. */
	ph[2].p_paddr = 0x9000;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "below the 1M")) TH_LOG("%s", err);
	ph[2].p_paddr = 0x1400000;
	/* A virtual entry point, as in a user program. */
	e->e_entry = 0xffffffff81000000ULL;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "is in no segment")) TH_LOG("%s", err);
	e->e_entry = 0x1000000;
	/* 32-bit, another machine, no PT_LOAD. */
	e->e_machine = EM_ARM;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not an x86 ELF")) TH_LOG("%s", err);
	e->e_machine = EM_X86_64;
	ph[0].p_type = ph[2].p_type = PT_NULL;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "no PT_LOAD")) TH_LOG("%s", err);
	e->e_ident[EI_CLASS] = ELFCLASS32;
	((Elf32_Ehdr *)img)->e_machine = EM_386;
	EXPECT_EQ(-1, linux_parse_vmlinux(img, 64 << 10, &k, err, sizeof(err)));
	free(img);
}

TEST(e820_has_the_holes)
{
	struct boot_e820_entry e[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned int n = linux_e820(256 << 20, 0, e), i;
	uint64_t ram = 0;

	ASSERT_EQ(4, n);
	for (i = 0; i < n; i++) {
		if (i)	/* sorted, never overlapping */
			EXPECT_LE(e[i - 1].addr + e[i - 1].size, e[i].addr);
		if (e[i].type == E820_RAM)
			ram += e[i].size;
	}
	EXPECT_EQ(0, e[0].addr);
	EXPECT_EQ(E820_RAM, e[0].type);
	EXPECT_EQ(0x9fc00, e[0].size);
	/* The BIOS area with the ACPI tables is reserved. */
	EXPECT_EQ(E820_RESERVED, e[2].type);
	EXPECT_LE(e[2].addr, ACPI_BASE);
	EXPECT_GE(e[2].addr + e[2].size, ACPI_BASE + ACPI_SIZE);
	EXPECT_EQ(0x100000, e[3].addr);
	EXPECT_EQ(256 << 20, e[3].addr + e[3].size);
	EXPECT_EQ((256 << 20) - 0x60400, ram);
}

/* Beyond max_ram_below_4g, the rest of RAM at 4G. */
TEST(e820_puts_the_rest_at_4g)
{
	struct boot_e820_entry e[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned int n = linux_e820(1ULL << 30, 512 << 20, e);

	ASSERT_EQ(5, n);
	EXPECT_EQ(0x100000, e[3].addr);
	EXPECT_EQ(1ULL << 30, e[3].addr + e[3].size);
	EXPECT_EQ(E820_RAM, e[4].type);
	EXPECT_EQ(1ULL << 32, e[4].addr);
	EXPECT_EQ(512 << 20, e[4].size);
}

/* Which RAM is low: all of a raw guest's, a Linux guest's to the hole. */
TEST(low_memory_follows_max_ram_below_4g)
{
	struct vm_config cfg;

	config_init(&cfg);
	cfg.memory = 5ULL << 30;
	EXPECT_EQ(5ULL << 30, config_low_memory(&cfg));
	cfg.format = FORMAT_BZIMAGE;
	EXPECT_EQ(3ULL << 30, config_low_memory(&cfg));
	cfg.format = FORMAT_VMLINUX;
	cfg.ram_below_4g = 1ULL << 30;
	EXPECT_EQ(1ULL << 30, config_low_memory(&cfg));
	cfg.memory = 512 << 20;
	EXPECT_EQ(512 << 20, config_low_memory(&cfg));
}

TEST(initrd_goes_high_and_fits)
{
	uint8_t *img = image(64 << 10);
	struct linux_kernel k;
	char err[128];
	uint64_t end;

	ASSERT_EQ(0, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	/* Decompressed at pref_address (16M), init_size from there. */
	end = linux_kernel_end(&k);
	EXPECT_EQ(0x1000000 + 0x800000, end);
	/* Page-aligned, ending at or below the top of memory. */
	EXPECT_EQ((256 << 20) - 0x2000, linux_initrd_addr(&k, 256 << 20, 0x1234));
	/* Below initrd_addr_max when memory reaches above it. */
	k.hdr.initrd_addr_max = 0x37ffffff;
	EXPECT_EQ(0x38000000 - 0x1000, linux_initrd_addr(&k, 3ULL << 30, 0x1000));
	/* Exactly the room between the kernel and the top, then a byte more. */
	EXPECT_EQ(end, linux_initrd_addr(&k, 64 << 20, (64 << 20) - end));
	EXPECT_EQ(0, linux_initrd_addr(&k, 64 << 20, (64 << 20) - end + 1));
	EXPECT_EQ(0, linux_initrd_addr(&k, 64 << 20, 1ULL << 40));
	/* Loaded above pref_address: aligned up from there. */
	k.hdr.pref_address = 0x10000;
	EXPECT_EQ(0x200000 + 0x800000, linux_kernel_end(&k));
	/* Not relocatable: at pref_address. */
	k.hdr.relocatable_kernel = 0;
	k.hdr.pref_address = 0x2000000;
	EXPECT_EQ(0x2000000 + 0x800000, linux_kernel_end(&k));
	free(img);
}

static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

/* The table at gpa in buf (which the guest sees at base). */
static const uint8_t *table(const uint8_t *buf, uint64_t base, uint64_t gpa)
{
	return buf + (gpa - base);
}

TEST(acpi_tables)
{
	static uint8_t buf[ACPI_SIZE];
	const uint64_t base = ACPI_BASE;
	size_t len = acpi_build(buf, sizeof(buf), base, 4, NULL, 0);
	const uint8_t *xsdt, *fadt, *dsdt, *madt, *p, *end;
	uint32_t length;
	uint64_t xsdt_gpa, gpa;
	int lapics = 0, ioapics = 0, overrides = 0;

	ASSERT_LT(0, len);
	ASSERT_EQ(0, memcmp(buf, "RSD PTR ", 8));
	EXPECT_EQ(0, sum(buf, 20));
	EXPECT_EQ(0, sum(buf, 36));
	EXPECT_EQ(2, buf[15]);
	memcpy(&xsdt_gpa, buf + 24, 8);
	xsdt = table(buf, base, xsdt_gpa);
	ASSERT_EQ(0, memcmp(xsdt, "XSDT", 4));
	memcpy(&length, xsdt + 4, 4);
	ASSERT_EQ(36 + 16, length);
	EXPECT_EQ(0, sum(xsdt, length));

	memcpy(&gpa, xsdt + 36, 8);
	fadt = table(buf, base, gpa);
	ASSERT_EQ(0, memcmp(fadt, "FACP", 4));
	memcpy(&length, fadt + 4, 4);
	EXPECT_EQ(276, length);
	EXPECT_EQ(0, sum(fadt, length));
	EXPECT_EQ(ACPI_SCI_IRQ, fadt[46]);
	EXPECT_EQ(ACPI_PM1_CNT, fadt[64] | fadt[65] << 8);
	EXPECT_EQ(2, fadt[89]);				/* PM1_CNT_LEN */
	EXPECT_EQ(RTC_CENTURY, fadt[108]);		/* CENTURY */
	memcpy(&gpa, fadt + 140, 8);			/* X_DSDT */
	dsdt = table(buf, base, gpa);
	ASSERT_EQ(0, memcmp(dsdt, "DSDT", 4));
	memcpy(&length, dsdt + 4, 4);
	EXPECT_EQ(0, sum(dsdt, length));
	/* \_S5 with SLP_TYP 5. */
	EXPECT_EQ(0, memcmp(dsdt + 36, "\x08_S5_\x12", 6));
	EXPECT_EQ(ACPI_SLP_TYP_S5, dsdt[36 + 9]);

	memcpy(&gpa, xsdt + 44, 8);
	madt = table(buf, base, gpa);
	ASSERT_EQ(0, memcmp(madt, "APIC", 4));
	memcpy(&length, madt + 4, 4);
	EXPECT_EQ(0, sum(madt, length));
	EXPECT_LE(madt + length, buf + len);
	end = madt + length;
	for (p = madt + 44; p < end; p += p[1]) {
		ASSERT_LE(2, p[1]);
		if (p[0] == 0) {
			EXPECT_EQ(lapics, p[3]);	/* APIC ID = index */
			EXPECT_EQ(1, p[4]);		/* enabled */
			lapics++;
		} else if (p[0] == 1) {
			EXPECT_EQ(IOAPIC_BASE, p[4] | p[5] << 8 | p[6] << 16 |
					       (uint32_t)p[7] << 24);
			ioapics++;
		} else if (p[0] == 2) {
			EXPECT_EQ(ACPI_SCI_IRQ, p[3]);
			overrides++;
		}
	}
	EXPECT_EQ(end, p);
	EXPECT_EQ(4, lapics);
	EXPECT_EQ(1, ioapics);
	EXPECT_EQ(1, overrides);
}

/* Where needle (n bytes) is in hay (len bytes), or NULL. */
static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle,
			   size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

TEST(acpi_dsdt_describes_mmio_devices)
{
	static uint8_t buf[ACPI_SIZE];
	const struct acpi_dev devs[] = {
		{ 0xd0001000, 0x200, 16, false, "LNRO0005", NULL },
		{ 0xd0001200, 0x200, 17, false, "LNRO0005", NULL },
		{ 0x505, 1, -1, true, "QEMU0001", "PEVT" },
	};
	/* pvpanic's: an I/O port, 16-bit decode, 0x505 to 0x505, one byte. */
	const uint8_t io[] = { 0x47, 1, 0x05, 0x05, 0x05, 0x05, 1, 1, 0x79, 0 };
	/* Memory32Fixed read-write at the first device's registers. */
	const uint8_t mem[] = { 0x86, 9, 0, 1, 0x00, 0x10, 0x00, 0xd0,
				0x00, 0x02, 0, 0 };
	/* Extended Interrupt: consumer, level, active high, GSI 17. */
	const uint8_t irq[] = { 0x89, 6, 0, 1, 1, 17, 0, 0, 0, 0x79, 0 };
	const uint8_t *dsdt, *sb, *p;
	uint64_t xsdt, fadt, gpa;
	uint32_t length;

	ASSERT_LT(0, acpi_build(buf, sizeof(buf), ACPI_BASE, 1, devs, 3));
	memcpy(&xsdt, buf + 24, 8);
	memcpy(&fadt, buf + (xsdt - ACPI_BASE) + 36, 8);
	memcpy(&gpa, buf + (fadt - ACPI_BASE) + 140, 8);
	dsdt = buf + (gpa - ACPI_BASE);
	memcpy(&length, dsdt + 4, 4);
	EXPECT_EQ(0, sum(dsdt, length));
	/* \_S5 first, then Scope (\_SB) with a 2-byte PkgLength. */
	EXPECT_EQ(0, memcmp(dsdt + 36, "\x08_S5_", 5));
	sb = dsdt + 36 + 14;
	ASSERT_EQ(0x10, sb[0]);
	ASSERT_EQ(0x40, sb[1] & 0xc0);
	EXPECT_EQ(length - 36 - 14 - 1, (size_t)((sb[1] & 0xf) | sb[2] << 4));
	EXPECT_EQ(0, memcmp(sb + 3, "_SB_", 4));
	/* Each Device (VRnn) with its _HID, _UID and _CRS. */
	p = find(dsdt, length, "\x5b\x82", 2);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, memcmp(p + 3, "VR00", 4)) TH_LOG("PkgLength %#x", p[2]);
	EXPECT_EQ(p[2], p[2 + p[2] + 2]) TH_LOG("two virtio devices, same size");
	EXPECT_NE(NULL, find(dsdt, length, "\x08_HID\x0dLNRO0005", 15));
	EXPECT_NE(NULL, find(dsdt, length, "VR01", 4));
	EXPECT_NE(NULL, find(dsdt, length, mem, sizeof(mem)));
	EXPECT_NE(NULL, find(dsdt, length, irq, sizeof(irq)));
	/* The port device: its name, _HID, and a _CRS without interrupt. */
	p = find(dsdt, length, "PEVT", 4);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, memcmp(p - 3, "\x5b\x82", 2));
	EXPECT_EQ(length - (p - dsdt) + 1, (size_t)p[-1]) TH_LOG("the last device");
	EXPECT_NE(NULL, find(p, length - (p - dsdt), "\x08_HID\x0dQEMU0001", 15));
	EXPECT_NE(NULL, find(p, length - (p - dsdt), io, sizeof(io)));
	EXPECT_EQ(NULL, find(p, length - (p - dsdt), "\x89", 1));
	EXPECT_EQ(0, acpi_build(buf, sizeof(buf), ACPI_BASE, 1, devs,
				ACPI_MAX_DEVS + 1));
}

/* Each virtio device the config asks for has a slot and a GSI of its own. */
TEST(virtio_slots_follow_the_config)
{
	struct virtio_slot s[VIRTIO_MAX_DEVS];
	struct vm_config cfg;

	config_init(&cfg);
	EXPECT_EQ(0, virtio_slots(&cfg, s));
	cfg.rng = true;
	ASSERT_EQ(1, virtio_slots(&cfg, s));
	EXPECT_STREQ("virtio-rng0", s[0].name);
	EXPECT_EQ(&virtio_rng, s[0].type);
	EXPECT_EQ(VIRTIO_BASE, s[0].base);
	EXPECT_EQ(VIRTIO_GSI, s[0].gsi);
	strcpy(cfg.disk, "/tmp/disk.img");
	ASSERT_EQ(2, virtio_slots(&cfg, s));
	EXPECT_STREQ("virtio-blk0", s[0].name);
	EXPECT_EQ(&virtio_blk, s[0].type);
	EXPECT_EQ(VIRTIO_BASE, s[0].base);
	EXPECT_EQ(VIRTIO_GSI, s[0].gsi);
	EXPECT_STREQ("virtio-rng0", s[1].name);
	EXPECT_EQ(VIRTIO_BASE + VIRTIO_SLOT_SIZE, s[1].base);
	EXPECT_EQ(VIRTIO_GSI + 1, s[1].gsi);
	/* Slots fit below the next page-aligned range and in the IOAPIC. */
	EXPECT_GE(VIRTIO_SLOT_SIZE, VIRTIO_MMIO_SIZE);
	EXPECT_GT(24, VIRTIO_GSI + VIRTIO_MAX_DEVS - 1);
}

TEST(acpi_refuses_what_does_not_fit)
{
	static uint8_t buf[ACPI_SIZE];

	EXPECT_EQ(0, acpi_build(buf, 256, ACPI_BASE, 1, NULL, 0));
	EXPECT_EQ(0, acpi_build(buf, sizeof(buf), ACPI_BASE, 256, NULL, 0));
	EXPECT_LT(0, acpi_build(buf, sizeof(buf), ACPI_BASE, 255, NULL, 0));
}

TEST_HARNESS_MAIN
