// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk over virtio-mmio (virtio.c), backed by a raw image file
 * ([disk] path, guest.cfg(5)): one request queue; reads, writes, flushes
 * (fdatasync, so what the guest synced survives vmrun's crash) and the
 * device ID; read-only when [disk] readonly says so (VIRTIO_BLK_F_RO,
 * and writes fail).  A request outside the disk fails with IOERR; a
 * malformed one puts the device in DEVICE_NEEDS_RESET.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "vmrun.h"

#define SECTOR		512
/* A request type no driver sends: the framing vmrun refuses. */
#define VIRTIO_BLK_T_ILLEGAL	0xffffffffu

struct blk {
	int fd;
	uint64_t sectors;
	bool readonly;
};

static uint64_t blk_features(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	struct blk *b = v->type_priv;

	return 1ULL << VIRTIO_BLK_F_FLUSH |
	       (b->readonly ? 1ULL << VIRTIO_BLK_F_RO : 0);
}

static size_t blk_config(struct device *dev, uint8_t *buf, size_t n)
{
	struct virtio_dev *v = dev->priv;
	struct blk *b = v->type_priv;
	struct virtio_blk_config c = { .capacity = b->sectors };

	n = n < sizeof(c) ? n : sizeof(c);
	memcpy(buf, &c, n);
	return n;
}

/* Reads or writes the data buffers at sector; true if all went. */
static bool blk_rw(struct blk *b, struct virtio_chain *c, uint64_t sector,
		   bool write, uint32_t *written)
{
	uint64_t off = sector * SECTOR, len = 0;
	unsigned int i;

	for (i = 1; i + 1 < c->nr; i++) {
		/* A read fills writable buffers, a write empties readable ones. */
		if (c->buf[i].write == write)
			return false;
		len += c->buf[i].len;
	}
	if (sector > b->sectors || len > (b->sectors - sector) * SECTOR)
		return false;
	for (i = 1; i + 1 < c->nr; i++) {
		ssize_t r;
		size_t done = 0;

		while (done < c->buf[i].len) {
			r = write ? pwrite(b->fd, c->buf[i].p + done,
					   c->buf[i].len - done, off) :
				    pread(b->fd, c->buf[i].p + done,
					  c->buf[i].len - done, off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return false;
			done += r;
			off += r;
		}
		if (!write)
			*written += c->buf[i].len;
	}
	return true;
}

static void blk_notify(struct device *dev, struct virtq *q)
{
	struct virtio_dev *v = dev->priv;
	struct blk *b = v->type_priv;
	struct virtio_blk_outhdr hdr;
	struct virtio_chain c;
	unsigned int n;
	int head = -1;

	/* At most a queue's worth per kick: the guest cannot hold us. */
	for (n = 0; n < q->num && (head = virtio_pop(dev, q, &c)) >= 0; n++) {
		uint8_t status = VIRTIO_BLK_S_OK;
		uint32_t written = 0;
		struct virtio_buf *st = &c.buf[c.nr - 1];

		/* A header the device reads, a status byte it writes. */
		if (c.nr < 2 || c.buf[0].write || c.buf[0].len < sizeof(hdr) ||
		    !st->write || st->len < 1) {
			virtio_fail(dev);
			return;
		}
		memcpy(&hdr, c.buf[0].p, sizeof(hdr));
		/*
		 * Any framing is allowed, but this device takes the header,
		 * the data and the status in descriptors of their own (as
		 * Linux makes them): another request fails, never half-done.
		 */
		if (c.buf[0].len != sizeof(hdr) || st->len != 1)
			hdr.type = VIRTIO_BLK_T_ILLEGAL;
		switch (hdr.type) {
		case VIRTIO_BLK_T_IN:
		case VIRTIO_BLK_T_OUT:
			if ((hdr.type == VIRTIO_BLK_T_OUT && b->readonly) ||
			    !blk_rw(b, &c, hdr.sector, hdr.type == VIRTIO_BLK_T_OUT,
				    &written))
				status = VIRTIO_BLK_S_IOERR;
			break;
		case VIRTIO_BLK_T_FLUSH:
			if (fdatasync(b->fd))
				status = VIRTIO_BLK_S_IOERR;
			break;
		case VIRTIO_BLK_T_GET_ID:
			if (c.nr < 3 || !c.buf[1].write) {
				status = VIRTIO_BLK_S_IOERR;
				break;
			}
			written = c.buf[1].len < VIRTIO_BLK_ID_BYTES ?
				  c.buf[1].len : VIRTIO_BLK_ID_BYTES;
			memset(c.buf[1].p, 0, written);
			memcpy(c.buf[1].p, "vmrun-disk0",
			       written < 11 ? written : 11);
			break;
		case VIRTIO_BLK_T_ILLEGAL:
			status = VIRTIO_BLK_S_IOERR;
			break;
		default:
			status = VIRTIO_BLK_S_UNSUPP;
		}
		*((uint8_t *)st->p + st->len - 1) = status;
		if (virtio_push(dev, q, head, written + 1)) {
			virtio_fail(dev);
			return;
		}
	}
	if (head == -2)
		virtio_fail(dev);
}

/* The disk was checked by config_finish(); open it now. */
static int blk_init(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	struct vm_config *cfg = dev->vm->cfg;
	struct blk *b = calloc(1, sizeof(*b));
	struct stat st;

	if (!b)
		return -1;
	v->type_priv = b;
	b->readonly = cfg->disk_readonly;
	b->fd = open(cfg->disk, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st)) {
		config_error(cfg, KEY_DISK, "%s: %s", cfg->disk, strerror(errno));
		return -1;
	}
	b->sectors = st.st_size / SECTOR;
	return 0;
}

static void blk_free(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	struct blk *b = v->type_priv;

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	v->type_priv = NULL;
}

const struct virtio_type virtio_blk = {
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.init = blk_init,
	.free = blk_free,
	.features = blk_features,
	.config = blk_config,
	.notify = blk_notify,
};
