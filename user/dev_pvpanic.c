// SPDX-License-Identifier: GPL-2.0
/*
 * pvpanic, as QEMU's ISA device (port 0x505, ACPI ID QEMU0001, which the
 * DSDT describes): Linux's pvpanic-mmio driver reads the events the
 * device supports and writes one when the guest kernel panics
 * (PVPANIC_PANICKED) or is about to boot its kdump kernel
 * (PVPANIC_CRASH_LOADED).  A panic is a crash: vmrun says so, and
 * on_crash decides (exit status 3, or a restart).  A crash with a kdump
 * kernel loaded is only reported: that kernel runs next.
 */
#include <stdio.h>
#include <misc/pvpanic.h>

#include "vmrun.h"

static void pvpanic_pio(struct device *dev, struct vcpu *vcpu, uint64_t port,
			bool write, uint8_t *data, unsigned int size)
{
	struct vm *vm = dev->vm;
	unsigned int i;

	if (!write) {
		data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		for (i = 1; i < size; i++)
			data[i] = 0;
		return;
	}
	if (data[0] & PVPANIC_PANICKED) {
		fprintf(stderr, "vmrun: %s: the guest kernel panicked (pvpanic)\n",
			vm->cfg->name);
		vm_stop(vm, STOP_CRASH, STATUS_CRASH);
	} else if (data[0] & PVPANIC_CRASH_LOADED) {
		fprintf(stderr, "vmrun: %s: the guest kernel crashed; its kdump kernel runs next (pvpanic)\n",
			vm->cfg->name);
	}
}

static int pvpanic_init(struct device *dev)
{
	return dev_add_pio(dev, dev->base, 1);
}

const struct device_class dev_pvpanic = {
	.name = "pvpanic",
	.init = pvpanic_init,
	.pio = pvpanic_pio,
};
