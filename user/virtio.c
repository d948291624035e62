// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport (version 2, the virtio 1.x spec's "MMIO
 * Device Register Layout") and split virtqueues, for the device types in
 * dev_virtio_*.c.  An instance is one device: its registers, up to
 * VIRTIO_MAX_QUEUES queues, its interrupt status, which drives its line
 * level-triggered (the DSDT says so).
 *
 * With an in-kernel irqchip the device uses the KVM eventfd paths, as a
 * VMM on KVM does: each queue's QueueNotify write is an ioeventfd
 * (KVM_IOEVENTFD, matched on the queue index), served on the I/O
 * thread, so the vCPU does not exit to vmrun for it; the interrupt is a
 * resample irqfd (KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE): raised by a
 * write to it, lowered by the kernel at the guest's EOI, which signals
 * the resample eventfd, where the device raises it again if its
 * interrupt status is still set.  Without them (no irqchip, or a
 * device without the capabilities), a QueueNotify write exits and is
 * served in the vCPU thread, and the line goes through KVM_IRQ_LINE.
 *
 * Everything the guest hands over is checked: a ring, a descriptor or a
 * buffer outside guest RAM, a chain longer than the queue or looping,
 * puts the device in DEVICE_NEEDS_RESET until the guest resets it, and
 * vmrun goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vmrun.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_VENDOR		0x4d4b564d	/* "MKVM" */

void *virtio_gpa(struct device *dev, uint64_t gpa, uint64_t len)
{
	return vm_gpa(dev->vm, gpa, len);
}

static void virtio_update_irq(struct device *dev);

/* The device needs a reset, and says so with a config interrupt. */
void virtio_fail(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	v->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	v->config_gen++;
	v->isr |= VIRTIO_MMIO_INT_CONFIG;
	virtio_update_irq(dev);
}

static void virtio_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		perror("vmrun: virtio: eventfd");
}

static void virtio_update_irq(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	bool level = v->isr != 0;

	/* The irqfd is raised once; the EOI's resample lowers it. */
	if (v->irqfd >= 0) {
		if (level && !v->irq) {
			v->irq = true;
			virtio_signal(v->irqfd);
			v->irqs_irqfd++;
		}
		return;
	}
	if (level != v->irq) {
		v->irq = level;
		dev_irq_set(dev, level);
	}
}

/* I/O thread: the guest's EOI lowered the line; raise it if still due. */
static void virtio_resample(struct vm *vm, int fd, void *arg)
{
	struct device *dev = arg;
	struct virtio_dev *v = dev->priv;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&dev->lock);
	v->irq = false;
	virtio_update_irq(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* I/O thread: the guest wrote QueueNotify (an ioeventfd). */
static void virtio_kicked(struct vm *vm, int fd, void *arg)
{
	struct virtio_kick_slot *k = arg;
	struct virtio_dev *v = k->dev->priv;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&k->dev->lock);
	v->kicks_eventfd++;
	if (v->q[k->queue].ready && (v->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(v->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		v->type->notify(k->dev, &v->q[k->queue]);
	pthread_mutex_unlock(&k->dev->lock);
}

/*
 * The eventfd paths, when the VM has an in-kernel irqchip and the
 * device the capabilities (else 0, and exits with KVM_IRQ_LINE); -1
 * when an ioctl fails.
 */
static int virtio_eventfds(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	struct vm *vm = dev->vm;
	struct kvm_irqfd irqfd = { .gsi = dev->irq,
				   .flags = KVM_IRQFD_FLAG_RESAMPLE };
	unsigned int i;

	if (!vm->irqchip || dev->irq < 0 ||
	    ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0 ||
	    ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) <= 0)
		return 0;
	for (i = 0; i < v->type->nr_queues; i++) {
		struct kvm_ioeventfd io = {
			.datamatch = i, .addr = dev->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		v->kick[i] = (struct virtio_kick_slot){ .dev = dev, .queue = i };
		v->kickfd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		io.fd = v->kickfd[i];
		if (v->kickfd[i] < 0 || ioctl(vm->fd, KVM_IOEVENTFD, &io) ||
		    io_add(vm, v->kickfd[i], virtio_kicked, &v->kick[i]))
			goto fail;
	}
	v->resamplefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->irqfd = eventfd(0, EFD_CLOEXEC);
	irqfd.fd = v->irqfd;
	irqfd.resamplefd = v->resamplefd;
	if (v->irqfd < 0 || v->resamplefd < 0 ||
	    ioctl(vm->fd, KVM_IRQFD, &irqfd) ||
	    io_add(vm, v->resamplefd, virtio_resample, dev))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "vmrun: %s: %s: cannot set up its ioeventfd and irqfd: %s\n",
		vm->cfg->name, dev->name, strerror(errno));
	return -1;
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
	uint16_t head, i, idx;
	unsigned int n;

	avail = virtio_gpa(dev, q->avail, sizeof(*avail) + 2 * q->num);
	desc = virtio_gpa(dev, q->desc, sizeof(*desc) * q->num);
	if (!avail || !desc)
		return -2;
	idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	if (q->last_avail == idx)
		return -1;
	/* More than the queue holds: the driver is broken or hostile. */
	if ((uint16_t)(idx - q->last_avail) > q->num)
		return -2;
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

/* What the device type offers besides VIRTIO_F_VERSION_1. */
static uint64_t virtio_features(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	return v->type->features ? v->type->features(dev) : 0;
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
		return (virtio_features(dev) | 1ULL << VIRTIO_F_VERSION_1) >>
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
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* The value names the queue, whatever QueueSel says. */
		if (val < t->nr_queues && v->q[val].ready &&
		    (v->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		    !(v->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			v->kicks_exit++;
			t->notify(dev, &v->q[val]);
		}
		return;
	case VIRTIO_MMIO_STATUS:
		if (!val) {
			virtio_reset_state(dev);
			return;
		}
		/* FEATURES_OK only for what the device offered. */
		if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    (v->drv_features & ~(virtio_features(dev) |
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
		size_t n = v->type->config ?
			   v->type->config(dev, cfg, sizeof(cfg)) : 0;

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

static void virtio_close_eventfds(struct virtio_dev *v)
{
	unsigned int i;

	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (v->kickfd[i] >= 0)
			close(v->kickfd[i]);
		v->kickfd[i] = -1;
	}
	if (v->irqfd >= 0)
		close(v->irqfd);
	if (v->resamplefd >= 0)
		close(v->resamplefd);
	v->irqfd = v->resamplefd = -1;
}

static int virtio_init(struct device *dev)
{
	struct virtio_dev *v = dev->priv;
	unsigned int i;

	v->type = dev->arg;
	if (v->type->nr_queues > VIRTIO_MAX_QUEUES)
		return -1;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		v->kickfd[i] = -1;
	v->irqfd = v->resamplefd = -1;
	if (v->type->init && v->type->init(dev))
		return -1;
	if (dev_add_mmio(dev, dev->base, VIRTIO_MMIO_SIZE))
		return -1;
	/*
	 * Without the capabilities (or an in-kernel irqchip), exits.  An
	 * ioctl that fails once they are there fails the VM's start: a
	 * half-registered device would lose the writes an ioeventfd
	 * matched.
	 */
	return virtio_eventfds(dev);
}

static void virtio_free(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	/* The I/O thread has stopped; the VM's fd goes after the devices. */
	virtio_close_eventfds(v);
	if (v->type && v->type->free)
		v->type->free(dev);
}

static void virtio_stats(struct device *dev)
{
	struct virtio_dev *v = dev->priv;

	fprintf(stderr, "vmrun: %s: %s: %llu queue notifications by ioeventfd, %llu by exit; %llu interrupts by irqfd%s\n",
		dev->vm->cfg->name, dev->name,
		(unsigned long long)v->kicks_eventfd,
		(unsigned long long)v->kicks_exit,
		(unsigned long long)v->irqs_irqfd,
		v->irqfd >= 0 ? "" : " (KVM_IRQ_LINE)");
}

const struct device_class dev_virtio_mmio = {
	.name = "virtio-mmio",
	.priv_size = sizeof(struct virtio_dev),
	.init = virtio_init,
	.reset = virtio_reset_state,
	.mmio = virtio_mmio,
	.free = virtio_free,
	.stats = virtio_stats,
};
