// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of vmrun's Linux boot (user/linux.c) and ACPI
 * tables (user/acpi.c): the bzImage checks on made-up images, the e820
 * map, where the initrd goes, and the tables' checksums, pointers and
 * entries.  Built and run by selftests/unit/run.sh.
 */
#include <stddef.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "vmrun.h"

#define HDR	offsetof(struct boot_params, hdr)

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

TEST(e820_has_the_holes)
{
	struct boot_e820_entry e[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned int n = linux_e820(256 << 20, e), i;
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

TEST(initrd_goes_high_and_fits)
{
	uint8_t *img = image(64 << 10);
	struct linux_kernel k;
	char err[128];
	uint64_t end;

	ASSERT_EQ(0, linux_parse(img, 64 << 10, &k, err, sizeof(err)));
	end = linux_kernel_end(&k);
	EXPECT_EQ(0x100000 + 0x800000, end);
	/* Page-aligned, ending at or below the top of memory. */
	EXPECT_EQ((256 << 20) - 0x2000, linux_initrd_addr(&k, 256 << 20, 0x1234));
	/* Below initrd_addr_max when memory reaches above it. */
	k.hdr.initrd_addr_max = 0x37ffffff;
	EXPECT_EQ(0x38000000 - 0x1000, linux_initrd_addr(&k, 3ULL << 30, 0x1000));
	/* Exactly the room between the kernel and the top, then a byte more. */
	EXPECT_EQ(end, linux_initrd_addr(&k, 64 << 20, (64 << 20) - end));
	EXPECT_EQ(0, linux_initrd_addr(&k, 64 << 20, (64 << 20) - end + 1));
	EXPECT_EQ(0, linux_initrd_addr(&k, 64 << 20, 1ULL << 40));
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
	size_t len = acpi_build(buf, sizeof(buf), base, 4);
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

TEST(acpi_refuses_what_does_not_fit)
{
	static uint8_t buf[ACPI_SIZE];

	EXPECT_EQ(0, acpi_build(buf, 256, ACPI_BASE, 1));
	EXPECT_EQ(0, acpi_build(buf, sizeof(buf), ACPI_BASE, 256));
	EXPECT_LT(0, acpi_build(buf, sizeof(buf), ACPI_BASE, 255));
}

TEST_HARNESS_MAIN
