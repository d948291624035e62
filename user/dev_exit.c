// SPDX-License-Identifier: GPL-2.0
/*
 * The exit port: a write of a byte, word or dword to port 0xf4 powers the
 * guest off, and the value's low byte becomes vmrun's exit status.
 * A read answers 0xff.
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

const struct device_model dev_exit = {
	.name = "exit",
	.port = EXIT_PORT,
	.nr_ports = 1,
	.io = exit_io,
};
