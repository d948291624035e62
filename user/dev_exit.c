// SPDX-License-Identifier: GPL-2.0
/*
 * The exit device: a write to port 0xf4, or to guest physical address
 * 0xd0000000 (MMIO, when RAM does not reach it), powers the guest off, and
 * the value's low byte becomes vmrun's exit status.  Reads answer all ones.
 * The boot timer, port 0xf5: the guest's first write to it marks the end
 * of its boot (examples/linux/init writes it through /dev/port), which
 * vmrun --stats reports.
 */
#include <string.h>
#include <time.h>

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
	if (dev->vm->low_size <= EXIT_MMIO && dev_add_mmio(dev, EXIT_MMIO, 8))
		return -1;
	return 0;
}

/* The boot timer: the first write says the guest's init has started. */
static void boot_timer_pio(struct device *dev, struct vcpu *vcpu, uint64_t addr,
			   bool write, uint8_t *data, unsigned int size)
{
	struct vm *vm = dev->vm;
	struct timespec now;

	if (!write) {
		memset(data, 0xff, size);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&vm->lock);
	if (!vm->boot_ns)
		vm->boot_ns = (now.tv_sec - vm->start.tv_sec) * 1000000000LL +
			      now.tv_nsec - vm->start.tv_nsec;
	pthread_mutex_unlock(&vm->lock);
}

static int boot_timer_init(struct device *dev)
{
	return dev_add_pio(dev, BOOT_TIMER_PORT, 1);
}

const struct device_class dev_boot_timer = {
	.name = "boot-timer",
	.init = boot_timer_init,
	.pio = boot_timer_pio,
};

const struct device_class dev_exit = {
	.name = "exit",
	.init = exit_init,
	.pio = exit_access,
	.mmio = exit_access,
};
