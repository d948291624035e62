// SPDX-License-Identifier: GPL-2.0
/*
 * The exit device: a write to port 0xf4, or to guest physical address
 * 0xd0000000 (MMIO, when RAM does not reach it), powers the guest off, and
 * the value's low byte becomes vmrun's exit status.  Reads answer all ones.
 */
#include <string.h>

#include "vmrun.h"

static void exit_io(struct vcpu *vcpu, uint16_t port, bool out, uint8_t *data,
		    unsigned int size)
{
	if (!out) {
		memset(data, 0xff, size);
		return;
	}
	vm_stop(vcpu->vm, STOP_POWEROFF, data[0]);
}

static void exit_mmio(struct vcpu *vcpu, uint64_t gpa, bool write,
		      uint8_t *data, unsigned int size)
{
	exit_io(vcpu, EXIT_PORT, write, data, size);
}

const struct device_model dev_exit = {
	.name = "exit",
	.port = EXIT_PORT,
	.nr_ports = 1,
	.mmio_base = EXIT_MMIO,
	.mmio_size = 8,
	.io = exit_io,
	.mmio = exit_mmio,
};
