// SPDX-License-Identifier: GPL-2.0
/*
 * Power and reset, as a Linux guest asks for them: the ACPI PM1a event
 * and control blocks that the FADT names (acpi.c), where SLP_EN with
 * SLP_TYP = 5 (\_S5) powers the VM off, and the keyboard controller's
 * command port, where the reset pulse (0xfe, also the FADT's reset
 * register) reboots it.  The platform is always in ACPI mode (SCI_EN
 * reads 1); no event ever sets a PM1 status bit, so the SCI never
 * fires.  The keyboard controller has nothing else: the FADT says there
 * is no 8042, and its ports read as an idle, empty controller.
 */
#include <string.h>

#include "vmrun.h"

#define PM1_CNT_SCI_EN		(1 << 0)
#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_EN		(1 << 13)

struct pm {
	uint16_t pm1_en;	/* PM1a enable: kept, nothing fires */
	uint16_t pm1_cnt;	/* SCI_EN and what the guest wrote */
};

static void pm_pio(struct device *dev, struct vcpu *vcpu, uint64_t port,
		   bool write, uint8_t *data, unsigned int size)
{
	struct pm *pm = dev->priv;
	uint16_t v = size > 1 ? data[0] | data[1] << 8 : data[0];
	/* 0-3 the event block (status, enable), 4-5 the control block. */
	unsigned int reg = port - ACPI_PM1_EVT;

	if (!write) {
		memset(data, 0, size);
		/* PM1a_STS (0-1) reads 0; the enable and control halves. */
		if (reg == 2)
			memcpy(data, &pm->pm1_en, size > 2 ? 2 : size);
		else if (reg == 4)
			memcpy(data, &pm->pm1_cnt, size > 2 ? 2 : size);
		return;
	}
	if (reg == 2) {
		pm->pm1_en = v;
	} else if (reg == 4) {
		pm->pm1_cnt = (v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
		if ((v & PM1_CNT_SLP_EN) &&
		    ((v >> PM1_CNT_SLP_TYP_SHIFT) & 7) == ACPI_SLP_TYP_S5)
			vm_stop(dev->vm, STOP_POWEROFF, 0);
	}
}

static void kbc_pio(struct device *dev, struct vcpu *vcpu, uint64_t port,
		    bool write, uint8_t *data, unsigned int size)
{
	if (!write) {
		memset(data, 0, size);	/* no data, ready for a command */
		return;
	}
	if (port == ACPI_RESET_PORT && data[0] == ACPI_RESET_VALUE)
		vm_stop(dev->vm, STOP_REBOOT, 0);
}

static int pm_init(struct device *dev)
{
	return dev_add_pio(dev, ACPI_PM1_EVT, 6);
}

static void pm_reset(struct device *dev)
{
	*(struct pm *)dev->priv = (struct pm){ .pm1_cnt = PM1_CNT_SCI_EN };
}

static int kbc_init(struct device *dev)
{
	return dev_add_pio(dev, 0x60, 1) || dev_add_pio(dev, ACPI_RESET_PORT, 1);
}

const struct device_class dev_pm = {
	.name = "acpi-pm",
	.priv_size = sizeof(struct pm),
	.init = pm_init,
	.reset = pm_reset,
	.pio = pm_pio,
};

const struct device_class dev_kbc = {
	.name = "i8042",
	.init = kbc_init,
	.pio = kbc_pio,
};
