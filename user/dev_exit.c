// SPDX-License-Identifier: GPL-2.0
/*
 * The exit device: a write to port 0xf4, or to guest physical address
 * 0xd0000000 (MMIO, when RAM does not reach it), powers the guest off, and
 * the value's low byte becomes vmrun's exit status.  Reads answer all ones.
 */
#include <string.h>

#include "vmrun.h"

static void exit_access(struct device *dev, struct vcpu *vcpu, uint64_t addr,
			bool write, uint8_t *data, unsigned int size)
{
	if (!write) {
		memset(data, 0xff, size);
		return;
	}
	vm_stop(dev->vm, STOP_POWEROFF, data[0]);
}

static int exit_init(struct device *dev)
{
	if (dev_add_pio(dev, EXIT_PORT, 1))
		return -1;
	/* Only where RAM does not reach it. */
	if (dev->vm->mem_size <= EXIT_MMIO && dev_add_mmio(dev, EXIT_MMIO, 8))
		return -1;
	return 0;
}

const struct device_class dev_exit = {
	.name = "exit",
	.init = exit_init,
	.pio = exit_access,
	.mmio = exit_access,
};
