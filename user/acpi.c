// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI tables a Linux guest finds its platform in (ACPI 6.x, chapter
 * 5): an RSDP that points at an XSDT listing a FADT and a MADT; the
 * FADT's DSDT holds one object, \_S5 (soft-off), so that a guest's
 * poweroff writes SLP_TYP = 5 with SLP_EN to PM1a_CNT, which dev_pm
 * turns into the VM's poweroff.  The MADT lists one local APIC per vCPU
 * (APIC ID = vCPU index), the IOAPIC with its 24 pins from GSI 0, and
 * the SCI's override (IRQ 9, level, active high); ISA IRQs 0-15 are
 * otherwise GSIs 0-15, as the in-kernel irqchip routes them.  No SMI
 * command port: the platform is in ACPI mode from the start.
 *
 * Built in a buffer of the BIOS area (ACPI_BASE, reserved in the e820
 * map), where a guest also finds the RSDP by scanning; no KVM here
 * (selftests/unit/linux_test.c checks the checksums and the layout).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vmrun.h"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	uint8_t checksum;		/* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;		/* 2: has the XSDT */
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;		/* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure: a register in I/O space. */
struct acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

/* FADT, revision 6 (276 bytes); the fields vmrun sets are named. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");

#define FADT_WBINVD		(1 << 0)
#define FADT_PWR_BUTTON		(1 << 4)	/* no fixed power button */
#define FADT_SLP_BUTTON		(1 << 5)	/* no fixed sleep button */
#define FADT_RESET_REG_SUP	(1 << 10)
#define BOOT_ARCH_LEGACY	(1 << 0)	/* ISA devices; no 8042 */
#define GAS_IO			1

struct madt_lapic {
	uint8_t type, length, processor_id, apic_id;
	uint32_t flags;			/* 1: enabled */
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_override {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	1
#define OVERRIDE_LEVEL_HIGH	0x000d	/* level-triggered, active high */

/*
 * Name (_S5, Package (4) { 5, 5, 0, 0 }) in AML: NameOp, the name,
 * PackageOp, PkgLength, NumElements, two BytePrefix'ed 5s, two ZeroOps.
 */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
	0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5, 0x00, 0x00,
};

/*
 * AML a device needs in \_SB: Device (name) with _HID, _UID and a _CRS
 * of its registers (Memory32Fixed, read-write; or an I/O port range with
 * 16-bit decode) and, if it has one, its level-triggered, active-high
 * interrupt (Extended Interrupt).  virtio-mmio's _HID is LNRO0005.
 */
#define AML_NAME	0x08
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_BYTE	0x0a
#define AML_DWORD	0x0c
#define AML_STRING	0x0d
#define AML_EXT		0x5b
#define AML_DEVICE	0x82

/* A PkgLength of len bytes of content: 1 or 2 bytes of encoding. */
static size_t aml_pkglen(uint8_t *p, size_t len)
{
	if (len + 1 < 64) {
		p[0] = len + 1;
		return 1;
	}
	len += 2;
	p[0] = 1 << 6 | (len & 0xf);
	p[1] = len >> 4;
	return 2;
}

static size_t aml_name(uint8_t *p, const char *name)
{
	p[0] = AML_NAME;
	memcpy(p + 1, name, 4);
	return 5;
}

/* One device's AML at p; its length. */
static size_t aml_device(uint8_t *p, unsigned int i, const struct acpi_dev *d)
{
	uint8_t body[128], crs[32];
	size_t n = 0, c = 0, k;
	char name[4];

	if (d->io) {
		/* I/O Port: 16-bit decode, min = max = base, aligned 1. */
		crs[c++] = 0x47;
		crs[c++] = 1;
		crs[c++] = d->base & 0xff;
		crs[c++] = d->base >> 8;
		crs[c++] = d->base & 0xff;
		crs[c++] = d->base >> 8;
		crs[c++] = 1;
		crs[c++] = d->size;
	} else {
		/* Memory32Fixed, read-write. */
		crs[c++] = 0x86;
		crs[c++] = 9;
		crs[c++] = 0;
		crs[c++] = 1;
		memcpy(crs + c, &(uint32_t){ d->base }, 4);
		memcpy(crs + c + 4, &(uint32_t){ d->size }, 4);
		c += 8;
	}
	if (d->gsi >= 0) {
		/* Extended Interrupt: consumer, level, active high, one GSI. */
		crs[c++] = 0x89;
		crs[c++] = 6;
		crs[c++] = 0;
		crs[c++] = 0x01;
		crs[c++] = 1;
		memcpy(crs + c, &(uint32_t){ d->gsi }, 4);
		c += 4;
	}
	crs[c++] = 0x79;		/* End Tag, no checksum */
	crs[c++] = 0;

	n += aml_name(body + n, "_HID");
	body[n++] = AML_STRING;
	memcpy(body + n, d->hid, 9);	/* 8 characters and the NUL */
	n += 9;
	n += aml_name(body + n, "_UID");
	body[n++] = AML_BYTE;
	body[n++] = i;
	n += aml_name(body + n, "_CRS");
	body[n++] = AML_BUFFER;
	n += aml_pkglen(body + n, 2 + c);
	body[n++] = AML_BYTE;
	body[n++] = c;
	memcpy(body + n, crs, c);
	n += c;

	if (d->name)
		memcpy(name, d->name, 4);
	else
		memcpy(name, (char[4]){ 'V', 'R', '0' + i / 10 % 10, '0' + i % 10 }, 4);
	p[0] = AML_EXT;
	p[1] = AML_DEVICE;
	k = 2 + aml_pkglen(p + 2, 4 + n);
	memcpy(p + k, name, 4);
	memcpy(p + k + 4, body, n);
	return k + 4 + n;
}

/* The DSDT's AML: \_S5, then \_SB with the devices; its length. */
static size_t dsdt_build(uint8_t *p, const struct acpi_dev *devs,
			 unsigned int ndevs)
{
	uint8_t sb[1024];
	size_t n = sizeof(dsdt_aml), m = 0, k;
	unsigned int i;

	memcpy(p, dsdt_aml, n);
	if (!ndevs)
		return n;
	for (i = 0; i < ndevs; i++)
		m += aml_device(sb + m, i, &devs[i]);
	p[n] = AML_SCOPE;
	k = 1 + aml_pkglen(p + n + 1, 4 + m);
	memcpy(p + n + k, "_SB_", 4);
	memcpy(p + n + k + 4, sb, m);
	return n + k + 4 + m;
}

static uint8_t checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (n--)
		sum += *b++;
	return -sum;
}

static void header(struct acpi_header *h, const char *sig, uint32_t length,
		   uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, "MKVM  ", 6);
	memcpy(h->oem_table_id, "VMRUN   ", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "MKVM", 4);
	h->creator_revision = 1;
	h->checksum = checksum(h, length);
}

static uint64_t align16(uint64_t x)
{
	return (x + 15) & ~15ULL;
}

size_t acpi_build(uint8_t *buf, size_t size, uint64_t gpa, unsigned int vcpus,
		  const struct acpi_dev *devs, unsigned int ndevs)
{
	uint8_t aml[2048];
	size_t aml_len;
	size_t off_xsdt = align16(sizeof(struct acpi_rsdp));
	size_t off_fadt = align16(off_xsdt + sizeof(struct acpi_header) + 2 * 8);
	size_t off_dsdt = align16(off_fadt + sizeof(struct acpi_fadt));
	size_t off_madt;
	struct acpi_rsdp *rsdp = (void *)buf;
	struct acpi_header *xsdt = (void *)(buf + off_xsdt);
	struct acpi_fadt *fadt = (void *)(buf + off_fadt);
	struct acpi_header *dsdt = (void *)(buf + off_dsdt);
	struct acpi_header *madt;
	uint64_t entries[2];
	uint8_t *p;
	unsigned int i;
	size_t madt_len, end;

	/* A local APIC entry has an 8-bit APIC ID. */
	if (vcpus > 255 || ndevs > ACPI_MAX_DEVS)
		return 0;
	aml_len = dsdt_build(aml, devs, ndevs);
	off_madt = align16(off_dsdt + sizeof(struct acpi_header) + aml_len);
	madt_len = sizeof(struct acpi_header) + 8 +
		   vcpus * sizeof(struct madt_lapic) +
		   sizeof(struct madt_ioapic) + sizeof(struct madt_override);
	end = off_madt + madt_len;

	if (end > size)
		return 0;
	madt = (void *)(buf + off_madt);
	memset(buf, 0, end);

	memcpy(dsdt + 1, aml, aml_len);
	header(dsdt, "DSDT", sizeof(*dsdt) + aml_len, 2);

	fadt->dsdt = gpa + off_dsdt;
	fadt->x_dsdt = gpa + off_dsdt;
	fadt->sci_int = ACPI_SCI_IRQ;
	fadt->pm1a_evt_blk = ACPI_PM1_EVT;
	fadt->pm1a_cnt_blk = ACPI_PM1_CNT;
	fadt->pm1_evt_len = 4;
	fadt->pm1_cnt_len = 2;
	fadt->x_pm1a_evt_blk = (struct acpi_gas){ GAS_IO, 32, 0, 2, ACPI_PM1_EVT };
	fadt->x_pm1a_cnt_blk = (struct acpi_gas){ GAS_IO, 16, 0, 2, ACPI_PM1_CNT };
	fadt->century = RTC_CENTURY;
	fadt->iapc_boot_arch = BOOT_ARCH_LEGACY;
	fadt->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		      FADT_RESET_REG_SUP;
	/* Reset: the keyboard controller's pulse, as dev_pm hears it. */
	fadt->reset_reg = (struct acpi_gas){ GAS_IO, 8, 0, 1, ACPI_RESET_PORT };
	fadt->reset_value = ACPI_RESET_VALUE;
	fadt->minor_version = 0;
	header(&fadt->h, "FACP", sizeof(*fadt), 6);

	p = (uint8_t *)(madt + 1);
	*(uint32_t *)p = LAPIC_BASE;
	*(uint32_t *)(p + 4) = MADT_PCAT_COMPAT;
	p += 8;
	for (i = 0; i < vcpus; i++, p += sizeof(struct madt_lapic))
		*(struct madt_lapic *)p = (struct madt_lapic){
			.type = 0, .length = sizeof(struct madt_lapic),
			.processor_id = i, .apic_id = i, .flags = 1,
		};
	*(struct madt_ioapic *)p = (struct madt_ioapic){
		.type = 1, .length = sizeof(struct madt_ioapic),
		/* The in-kernel IOAPIC's ID after reset. */
		.id = 0, .address = IOAPIC_BASE, .gsi_base = 0,
	};
	p += sizeof(struct madt_ioapic);
	*(struct madt_override *)p = (struct madt_override){
		.type = 2, .length = sizeof(struct madt_override),
		.bus = 0, .source = ACPI_SCI_IRQ, .gsi = ACPI_SCI_IRQ,
		.flags = OVERRIDE_LEVEL_HIGH,
	};
	header(madt, "APIC", madt_len, 5);

	entries[0] = gpa + off_fadt;
	entries[1] = gpa + off_madt;
	/* At offset 36: not 8-byte aligned. */
	memcpy(xsdt + 1, entries, sizeof(entries));
	header(xsdt, "XSDT", sizeof(*xsdt) + 2 * 8, 1);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "MKVM  ", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = gpa + off_xsdt;
	rsdp->checksum = checksum(rsdp, 20);
	rsdp->ext_checksum = checksum(rsdp, sizeof(*rsdp));
	return end;
}
