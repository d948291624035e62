// SPDX-License-Identifier: GPL-2.0
/*
 * Device instances: created with the VM (dev_create()), found by the
 * buses when a vCPU exits on a port or an MMIO address, freed with the
 * VM.  An access nobody claims is dropped (a write) or floats high (a
 * read), as on a PC's unclaimed bus cycles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmrun.h"

struct device *dev_create(struct vm *vm, const struct device_class *cls,
			  const char *name, uint64_t base, int irq)
{
	return dev_create_arg(vm, cls, name, base, irq, NULL);
}

struct device *dev_create_arg(struct vm *vm, const struct device_class *cls,
			      const char *name, uint64_t base, int irq,
			      const void *arg)
{
	struct device *dev = calloc(1, sizeof(*dev)), **tail;

	if (!dev)
		goto nomem;
	dev->cls = cls;
	dev->vm = vm;
	dev->base = base;
	dev->irq = irq;
	dev->arg = arg;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	pthread_mutex_init(&dev->lock, NULL);
	if (cls->priv_size) {
		dev->priv = calloc(1, cls->priv_size);
		if (!dev->priv) {
			free(dev);
			goto nomem;
		}
	}
	/* Linked first: dev_free_all() undoes a failed init too. */
	for (tail = &vm->devices; *tail; tail = &(*tail)->next)
		;
	*tail = dev;
	if (cls->init && cls->init(dev))
		return NULL;
	if (cls->reset)
		cls->reset(dev);
	return dev;
nomem:
	fprintf(stderr, "vmrun: %s: %s: out of memory\n", vm->cfg->name, name);
	return NULL;
}

static int dev_add(struct device *dev, struct bus *bus, const char *what,
		   uint64_t base, uint64_t len)
{
	const struct bus_range *other;

	if (!bus_add(bus, base, len, dev))
		return 0;
	other = bus_find(bus, base);
	if (errno == EEXIST && other)
		fprintf(stderr, "vmrun: %s: %s: %s %#llx-%#llx overlaps %s\n",
			dev->vm->cfg->name, dev->name, what,
			(unsigned long long)base,
			(unsigned long long)(base + len - 1), other->dev->name);
	else
		fprintf(stderr, "vmrun: %s: %s: %s %#llx+%#llx: %s\n",
			dev->vm->cfg->name, dev->name, what,
			(unsigned long long)base, (unsigned long long)len,
			strerror(errno));
	return -1;
}

int dev_add_pio(struct device *dev, uint16_t port, uint16_t nr)
{
	return dev_add(dev, &dev->vm->pio_bus, "ports", port, nr);
}

int dev_add_mmio(struct device *dev, uint64_t gpa, uint64_t len)
{
	return dev_add(dev, &dev->vm->mmio_bus, "MMIO", gpa, len);
}

struct device *dev_find(struct vm *vm, const struct device_class *cls)
{
	struct device *dev;

	for (dev = vm->devices; dev; dev = dev->next)
		if (dev->cls == cls)
			return dev;
	return NULL;
}

void dev_free_all(struct vm *vm)
{
	struct device *dev, *next;

	for (dev = vm->devices; dev; dev = next) {
		next = dev->next;
		if (dev->cls->free)
			dev->cls->free(dev);
		pthread_mutex_destroy(&dev->lock);
		free(dev->priv);
		free(dev);
	}
	vm->devices = NULL;
	bus_free(&vm->pio_bus);
	bus_free(&vm->mmio_bus);
}

typedef void (*dev_access_fn)(struct device *dev, struct vcpu *vcpu,
			      uint64_t addr, bool write, uint8_t *data,
			      unsigned int size);

/* One access on a bus: the instance's callback, or a floating bus. */
static void dev_access(const struct bus *bus, bool mmio, struct vcpu *vcpu,
		       uint64_t addr, bool write, uint8_t *data,
		       unsigned int size)
{
	const struct bus_range *r = bus_find(bus, addr);
	dev_access_fn fn = !r ? NULL : mmio ? r->dev->cls->mmio : r->dev->cls->pio;

	if (!fn) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&r->dev->lock);
	fn(r->dev, vcpu, addr, write, data, size);
	pthread_mutex_unlock(&r->dev->lock);
}

void dev_pio(struct vcpu *vcpu, uint16_t port, bool write, uint8_t *data,
	     unsigned int size)
{
	dev_access(&vcpu->vm->pio_bus, false, vcpu, port, write, data, size);
}

void dev_mmio(struct vcpu *vcpu, uint64_t gpa, bool write, uint8_t *data,
	      unsigned int size)
{
	dev_access(&vcpu->vm->mmio_bus, true, vcpu, gpa, write, data, size);
}
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t high = vm->mem_size - vm->low_size;

	if (gpa < vm->low_size)
		return len <= vm->low_size - gpa ? vm->mem + gpa : NULL;
	if (gpa >= HIGH_MEM_BASE && gpa - HIGH_MEM_BASE < high &&
	    len <= high - (gpa - HIGH_MEM_BASE))
		return vm->mem + vm->low_size + (gpa - HIGH_MEM_BASE);
	return NULL;
}

void dev_irq_set(struct device *dev, bool level)
{
	struct kvm_irq_level irq = { .irq = dev->irq, .level = level };

	if (dev->irq < 0 || !dev->vm->irqchip)
		return;
	if (ioctl(dev->vm->fd, KVM_IRQ_LINE, &irq) < 0)
		fprintf(stderr, "vmrun: %s: %s: KVM_IRQ_LINE %d: %s\n",
			dev->vm->cfg->name, dev->name, dev->irq, strerror(errno));
}
