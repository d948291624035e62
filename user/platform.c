// SPDX-License-Identifier: GPL-2.0
/*
 * The platform that format = bzimage gets beyond the fixed PC devices
 * (vmrun.c): which virtio-mmio devices the config asks for and where
 * each one lives.  vmrun.c creates them from this list and linux.c
 * describes the same list in the DSDT, so the two never disagree.
 */
#include "vmrun.h"

/*
 * The VM's virtio-mmio devices in slot order, for vmrun.c to create and
 * linux.c to describe in the DSDT: slot i at VIRTIO_BASE + i *
 * VIRTIO_SLOT_SIZE on GSI VIRTIO_GSI + i.  Returns how many.
 */
unsigned int virtio_slots(const struct vm_config *cfg,
			  struct virtio_slot s[VIRTIO_MAX_DEVS])
{
	unsigned int i, n = 0;

	if (cfg->disk[0])
		s[n++] = (struct virtio_slot){ .name = "virtio-blk0",
					       .type = &virtio_blk };
	if (cfg->rng)
		s[n++] = (struct virtio_slot){ .name = "virtio-rng0",
					       .type = &virtio_rng };
	for (i = 0; i < n; i++) {
		s[i].base = VIRTIO_BASE + i * VIRTIO_SLOT_SIZE;
		s[i].gsi = VIRTIO_GSI + i;
	}
	return n;
}
