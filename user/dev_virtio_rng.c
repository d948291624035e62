// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (the entropy device) over virtio-mmio (virtio.c), when
 * guest.cfg says rng = yes: one request queue whose writable buffers
 * vmrun fills from getrandom(2), at most RNG_MAX_FILL bytes a request,
 * so a guest asking for gigabytes gets a short answer rather than
 * holding the I/O thread.  A request with a buffer the device would
 * have to read is malformed: the device asks for a reset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>

#include "vmrun.h"

#define RNG_MAX_FILL	65536

/* Fills buf with n random bytes; false if the kernel would not. */
static bool rng_fill(uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t r = getrandom(buf, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf += r;
		n -= r;
	}
	return true;
}

static void rng_notify(struct device *dev, struct virtq *q)
{
	struct virtio_chain c;
	unsigned int n, i;
	int head = -1;

	/* At most a queue's worth per kick: the guest cannot hold us. */
	for (n = 0; n < q->num && (head = virtio_pop(dev, q, &c)) >= 0; n++) {
		uint32_t written = 0;

		for (i = 0; i < c.nr; i++) {
			uint32_t len = c.buf[i].len;

			if (!c.buf[i].write) {
				virtio_fail(dev);
				return;
			}
			if (len > RNG_MAX_FILL - written)
				len = RNG_MAX_FILL - written;
			if (!rng_fill(c.buf[i].p, len))
				break;
			written += len;
		}
		if (virtio_push(dev, q, head, written)) {
			virtio_fail(dev);
			return;
		}
	}
	if (head == -2)
		virtio_fail(dev);
}

const struct virtio_type virtio_rng = {
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.notify = rng_notify,
};
