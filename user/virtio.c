// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport (version 2, the virtio 1.x spec's "MMIO
 * Device Register Layout") and split virtqueues, for the device types in
 * dev_virtio_*.c.  An instance is one device: its registers, up to
 * VIRTIO_MAX_QUEUES queues, its interrupt status, which drives its line
 * level-triggered (the DSDT says so).  A write to QueueNotify processes
 * that queue at once, in the vCPU thread that wrote it.
 *
 * Everything the guest hands over is checked: a ring, a descriptor or a
 * buffer outside guest RAM, a chain longer than the queue or looping,
 * puts the device in DEVICE_NEEDS_RESET until the guest resets it, and
 * vmrun goes on.
 */
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vmrun.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_VENDOR		0x4d4b564d	/* "MKVM" */

void *virtio_gpa(struct device *dev, uint64_t gpa, uint64_t len)
{
	struct vm *vm = dev->vm;

	if (gpa >= vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

void virtio_fail(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	v->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	v->config_gen++;
}

static void virtio_update_irq(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	bool level = v->isr != 0;

	if (level != v->irq) {
		v->irq = level;
		dev_irq_set(dev, level);
	}
}

/*
 * The next chain the driver made available, as vectors of readable and
 * writable buffers; returns its head index, -1 when none is waiting, or
 * -2 when the chain is bad (the device then needs a reset).
 */
int virtio_pop(struct device *dev, struct virtq *q, struct virtio_chain *c)
{
	struct vring_avail *avail;
	struct vring_desc *desc;
	uint16_t head, i;
	unsigned int n;

	avail = virtio_gpa(dev, q->avail, sizeof(*avail) + 2 * q->num);
	desc = virtio_gpa(dev, q->desc, sizeof(*desc) * q->num);
	if (!avail || !desc)
		return -2;
	if (q->last_avail == __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE))
		return -1;
	head = avail->ring[q->last_avail % q->num];
	q->last_avail++;
	if (head >= q->num)
		return -2;
	c->nr = 0;
	for (i = head, n = 0;; n++) {
		struct vring_desc d = desc[i];
		void *p;

		/* No indirect descriptors were offered; a loop ends here. */
		if (n >= q->num || n >= VIRTIO_MAX_CHAIN ||
		    (d.flags & VRING_DESC_F_INDIRECT))
			return -2;
		p = virtio_gpa(dev, d.addr, d.len);
		if (!p)
			return -2;
		c->buf[c->nr] = (struct virtio_buf){
			.p = p, .len = d.len,
			.write = d.flags & VRING_DESC_F_WRITE,
		};
		c->nr++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= q->num)
			return -2;
	}
	return head;
}

/* The chain at head is done, with written bytes in its writable buffers. */
int virtio_push(struct device *dev, struct virtq *q, uint16_t head,
		uint32_t written)
{
	struct virtio_dev *v = dev->priv;
	struct vring_used *used;

	used = virtio_gpa(dev, q->used, sizeof(*used) +
			  sizeof(used->ring[0]) * q->num);
	if (!used)
		return -1;
	used->ring[q->used_idx % q->num] =
		(struct vring_used_elem){ .id = head, .len = written };
	q->used_idx++;
	__atomic_store_n(&used->idx, q->used_idx, __ATOMIC_RELEASE);
	v->isr |= VIRTIO_MMIO_INT_VRING;
	virtio_update_irq(dev);
	return 0;
}

static void virtio_reset_state(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	const struct virtio_type *t = v->type;

	memset(v->q, 0, sizeof(v->q));
	v->status = 0;
	v->isr = 0;
	v->dev_feat_sel = v->drv_feat_sel = v->queue_sel = 0;
	v->drv_features = 0;
	virtio_update_irq(dev);
	if (t->reset)
		t->reset(dev);
}

static uint32_t virtio_read(struct device *dev, unsigned int reg)
{
	struct virtio_dev *v = dev->priv;
	const struct virtio_type *t = v->type;
	struct virtq *q = v->queue_sel < t->nr_queues ? &v->q[v->queue_sel] : NULL;

	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (v->dev_feat_sel > 1)
			return 0;
		return (t->features(dev) | 1ULL << VIRTIO_F_VERSION_1) >>
		       (32 * v->dev_feat_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTIO_QUEUE_MAX : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return v->isr;
	case VIRTIO_MMIO_STATUS:
		return v->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return v->config_gen;
	}
	return 0;
}

static void virtio_set_addr(uint64_t *a, bool high, uint32_t val)
{
	*a = high ? (*a & 0xffffffffULL) | (uint64_t)val << 32 :
		    (*a & ~0xffffffffULL) | val;
}

static void virtio_write(struct device *dev, unsigned int reg, uint32_t val)
{
	struct virtio_dev *v = dev->priv;
	const struct virtio_type *t = v->type;
	struct virtq *q = v->queue_sel < t->nr_queues ? &v->q[v->queue_sel] : NULL;

	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		v->dev_feat_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (v->drv_feat_sel <= 1 &&
		    !(v->status & VIRTIO_CONFIG_S_FEATURES_OK))
			virtio_set_addr(&v->drv_features, v->drv_feat_sel, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		v->drv_feat_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		v->queue_sel = val;
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		v->isr &= ~val;
		virtio_update_irq(dev);
		return;
	case VIRTIO_MMIO_STATUS:
		if (!val) {
			virtio_reset_state(dev);
			return;
		}
		/* FEATURES_OK only for what the device offered. */
		if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    (v->drv_features & ~(t->features(dev) |
					 1ULL << VIRTIO_F_VERSION_1) ||
		     !(v->drv_features & 1ULL << VIRTIO_F_VERSION_1)))
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		v->status = val | (v->status & VIRTIO_CONFIG_S_NEEDS_RESET);
		return;
	}
	/* The queue registers, for a queue the device has. */
	if (!q || (v->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	switch (reg) {
	case VIRTIO_MMIO_QUEUE_NUM:
		/* A power of 2 up to the maximum (split rings). */
		if (!q->ready && val && val <= VIRTIO_QUEUE_MAX &&
		    !(val & (val - 1)))
			q->num = val;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		q->ready = val & 1 && q->num;
		if (!q->ready)
			q->last_avail = q->used_idx = 0;
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < t->nr_queues && v->q[val].ready &&
		    (v->status & VIRTIO_CONFIG_S_DRIVER_OK))
			t->notify(dev, &v->q[val]);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (!q->ready)
			virtio_set_addr(&q->desc, reg == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (!q->ready)
			virtio_set_addr(&q->avail, reg == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		return;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (!q->ready)
			virtio_set_addr(&q->used, reg == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		return;
	}
}

static void virtio_mmio(struct device *dev, struct vcpu *vcpu, uint64_t gpa,
			bool write, uint8_t *data, unsigned int size)
{
	struct virtio_dev *v = dev->priv;
	unsigned int reg = gpa - dev->base;
	uint32_t val = 0;

	/* The device's config space: any width, read-only here. */
	if (reg >= VIRTIO_MMIO_CONFIG) {
		uint8_t cfg[256] = { 0 };
		size_t n = v->type->config(dev, cfg, sizeof(cfg));

		reg -= VIRTIO_MMIO_CONFIG;
		if (!write) {
			memset(data, 0, size);
			if (reg < n)
				memcpy(data, cfg + reg, n - reg < size ? n - reg : size);
		}
		return;
	}
	/* The registers are 32 bits wide, aligned. */
	if (size != 4 || reg % 4) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (write) {
		memcpy(&val, data, 4);
		virtio_write(dev, reg, val);
	} else {
		val = virtio_read(dev, reg);
		memcpy(data, &val, 4);
	}
}

static int virtio_init(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	v->type = dev->arg;
	if (v->type->init && v->type->init(dev))
		return -1;
	return dev_add_mmio(dev, dev->base, VIRTIO_MMIO_SIZE);
}

static void virtio_free(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	if (v->type && v->type->free)
		v->type->free(dev);
}

const struct device_class dev_virtio_mmio = {
	.name = "virtio-mmio",
	.priv_size = sizeof(struct virtio_dev),
	.init = virtio_init,
	.reset = virtio_reset_state,
	.mmio = virtio_mmio,
	.free = virtio_free,
};
