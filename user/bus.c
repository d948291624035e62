// SPDX-License-Identifier: GPL-2.0
/*
 * The buses: which device instance answers a port or a guest physical
 * address.  A bus is an array of ranges sorted by base that never
 * overlap; a lookup is a binary search.  Ranges are added while the VM
 * is built, before any vCPU runs, so lookups take no lock.  No KVM
 * here: the host-side unit tests (selftests/unit/bus_test.c) link this
 * file alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmrun.h"

int bus_add(struct bus *bus, uint64_t base, uint64_t len, struct device *dev)
{
	struct bus_range *r;
	unsigned int i;

	if (!len || base + len - 1 < base) {
		errno = EINVAL;
		return -1;
	}
	/* The first range that starts after base. */
	for (i = 0; i < bus->nr && bus->range[i].base <= base; i++)
		;
	if ((i > 0 && bus->range[i - 1].base + bus->range[i - 1].len - 1 >= base) ||
	    (i < bus->nr && base + len - 1 >= bus->range[i].base)) {
		errno = EEXIST;
		return -1;
	}
	r = realloc(bus->range, (bus->nr + 1) * sizeof(*r));
	if (!r)
		return -1;
	bus->range = r;
	memmove(&r[i + 1], &r[i], (bus->nr - i) * sizeof(*r));
	r[i] = (struct bus_range){ .base = base, .len = len, .dev = dev };
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->range[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

void bus_free(struct bus *bus)
{
	free(bus->range);
	bus->range = NULL;
	bus->nr = 0;
}
