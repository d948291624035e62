// SPDX-License-Identifier: GPL-2.0
/*
 * The VM side of the in-kernel irqchip: KVM_CREATE_IRQCHIP, the GSI
 * routing table (KVM_SET_GSI_ROUTING), lines and MSIs (KVM_IRQ_LINE,
 * KVM_IRQ_LINE_STATUS, KVM_SIGNAL_MSI), the chips' state
 * (KVM_GET/SET_IRQCHIP), and the port and MMIO ranges the kernel
 * handles itself once the chips exist.
 *
 * A GSI names up to one route per chip: after KVM_CREATE_IRQCHIP GSIs
 * 0-15 go to the PIC pair and to IOAPIC pins 0-15, GSIs 16-23 to the
 * IOAPIC alone, as in KVM; KVM_SET_GSI_ROUTING replaces the whole table.
 * Tables are read under RCU and replaced under vm->irq_lock.
 *
 * The split irqchip (KVM_CAP_SPLIT_IRQCHIP) starts with no routes and
 * takes MSI routes only: userspace's IOAPIC raises its pins as MSIs on
 * GSIs below nr_ioapic_pins, and the EOI of a level-triggered one exits
 * to it (mkvm_irq_eoi_exits()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "minikvm.h"

#define MKVM_MSI_ADDR_BASE	0xfee00000ULL
#define MKVM_MSI_ADDR_MASK	0xfff00000ULL

static int mkvm_route_cmp(const void *a, const void *b)
{
	const struct mkvm_irq_route *x = a, *y = b;

	return x->gsi < y->gsi ? -1 : x->gsi > y->gsi;
}

/*
 * Check one userspace entry and translate it; -EINVAL if it is bad (an
 * irqchip pin of a split irqchip, whose chips are userspace's, too).
 */
static int mkvm_route_from_user(const struct kvm_irq_routing_entry *ue,
				struct mkvm_irq_route *r, bool split)
{
	if (ue->gsi >= MKVM_MAX_IRQ_ROUTES || ue->flags)
		return -EINVAL;
	r->gsi = ue->gsi;
	r->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (split)
			return -EINVAL;
		r->irqchip.chip = ue->u.irqchip.irqchip;
		r->irqchip.pin = ue->u.irqchip.pin;
		switch (ue->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			return ue->u.irqchip.pin < 8 ? 0 : -EINVAL;
		case KVM_IRQCHIP_IOAPIC:
			return ue->u.irqchip.pin < MKVM_IOAPIC_PINS ?
			       0 : -EINVAL;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		r->msi.address = ue->u.msi.address_lo |
				 (u64)ue->u.msi.address_hi << 32;
		r->msi.data = ue->u.msi.data;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Build a table from @n entries; as KVM, a GSI may have one MSI route,
 * or irqchip routes to different chips.
 */
static struct mkvm_irq_routing *
mkvm_routing_build(const struct kvm_irq_routing_entry *ue, u32 n, bool split)
{
	struct mkvm_irq_routing *rt;
	u32 i;

	rt = kvzalloc(struct_size(rt, route, n), GFP_KERNEL_ACCOUNT);
	if (!rt)
		return ERR_PTR(-ENOMEM);
	rt->nr = n;
	for (i = 0; i < n; i++) {
		if (mkvm_route_from_user(&ue[i], &rt->route[i], split)) {
			kvfree(rt);
			return ERR_PTR(-EINVAL);
		}
	}
	sort(rt->route, n, sizeof(rt->route[0]), mkvm_route_cmp, NULL);
	for (i = 1; i < n; i++) {
		const struct mkvm_irq_route *a = &rt->route[i - 1];
		const struct mkvm_irq_route *b = &rt->route[i];

		if (a->gsi != b->gsi)
			continue;
		if (a->type != KVM_IRQ_ROUTING_IRQCHIP ||
		    b->type != KVM_IRQ_ROUTING_IRQCHIP ||
		    a->irqchip.chip == b->irqchip.chip) {
			kvfree(rt);
			return ERR_PTR(-EINVAL);
		}
	}
	return rt;
}

static void mkvm_routing_free_rcu(struct rcu_head *head)
{
	kvfree(container_of(head, struct mkvm_irq_routing, rcu));
}

/* Publish @rt (vm->irq_lock held) and free the table it replaces. */
static void mkvm_routing_swap(struct mkvm_vm *vm, struct mkvm_irq_routing *rt)
{
	struct mkvm_irq_routing *old;

	old = rcu_replace_pointer(vm->irqchip->routing, rt,
				  lockdep_is_held(&vm->irq_lock));
	if (old)
		call_rcu(&old->rcu, mkvm_routing_free_rcu);
}

/*
 * The default table of KVM_CREATE_IRQCHIP, as KVM's: GSIs 0-15 to the PIC
 * pair and to IOAPIC pins 0-15, GSIs 16-23 to the IOAPIC alone; sorted
 * by GSI as it is built.
 */
static struct mkvm_irq_routing *mkvm_routing_default(void)
{
	struct mkvm_irq_routing *rt;
	u32 gsi, n = 0;

	rt = kvzalloc(struct_size(rt, route, 16 + MKVM_IOAPIC_PINS),
		      GFP_KERNEL_ACCOUNT);
	if (!rt)
		return ERR_PTR(-ENOMEM);
	for (gsi = 0; gsi < MKVM_IOAPIC_PINS; gsi++) {
		rt->route[n].gsi = gsi;
		rt->route[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt->route[n].irqchip.chip = KVM_IRQCHIP_IOAPIC;
		rt->route[n++].irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		rt->route[n].gsi = gsi;
		rt->route[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt->route[n].irqchip.chip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
						      KVM_IRQCHIP_PIC_SLAVE;
		rt->route[n++].irqchip.pin = gsi & 7;
	}
	rt->nr = n;
	return rt;
}

void mkvm_msi_to_irq(u64 address, u32 data, struct mkvm_apic_irq *irq)
{
	*irq = (struct mkvm_apic_irq){
		.dest = (address >> 12) & 0xff,
		.logical = address & BIT(2),
		.vector = data & 0xff,
		.delivery = data & APIC_MODE_MASK,
		.level = data & BIT(15),
		.source = MKVM_IRQ_SRC_MSI,
	};
}

int mkvm_msi_deliver(struct mkvm_vm *vm, u64 address, u32 data)
{
	struct mkvm_apic_irq irq;

	if ((address & MKVM_MSI_ADDR_MASK) != MKVM_MSI_ADDR_BASE)
		return -1;
	mkvm_msi_to_irq(address, data, &irq);
	return mkvm_apic_deliver(vm, NULL, &irq);
}

/*
 * Split irqchip: the EOI of a level-triggered @vector (its TMR bit set,
 * the caller checks) is userspace's IOAPIC's if an MSI route of one of
 * its pins sends @vector level-triggered.  KVM decides from a bitmap of
 * those routes' vectors whose destination names the vCPU, scanned when
 * routes or APIC ids change (and, since 6.x, those pending in the vCPU
 * too); the TMR bit says the same of the interrupt actually taken, so a
 * route retargeted while its vector is in service still hears its EOI.
 */
bool mkvm_irq_eoi_exits(struct mkvm_vcpu *vcpu, u8 vector)
{
	struct mkvm_irqchip *chip = vcpu->vm->irqchip;
	struct mkvm_irq_routing *rt;
	struct mkvm_apic_irq irq;
	bool hit = false;
	u32 i;

	rcu_read_lock();
	rt = rcu_dereference(chip->routing);
	/* Sorted by GSI: the IOAPIC's pins come first. */
	for (i = 0; i < rt->nr && !hit; i++) {
		const struct mkvm_irq_route *r = &rt->route[i];

		if (r->gsi >= chip->nr_ioapic_pins)
			break;
		if (r->type != KVM_IRQ_ROUTING_MSI)
			continue;
		mkvm_msi_to_irq(r->msi.address, r->msi.data, &irq);
		hit = irq.level && irq.vector == vector;
	}
	rcu_read_unlock();
	return hit;
}

static int mkvm_route_set(struct mkvm_vm *vm, const struct mkvm_irq_route *r,
			  int level)
{
	struct mkvm_irqchip *chip = vm->irqchip;

	switch (r->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		switch (r->irqchip.chip) {
		case KVM_IRQCHIP_PIC_MASTER:
			return mkvm_pic_set_irq(&chip->pic, r->irqchip.pin, level);
		case KVM_IRQCHIP_PIC_SLAVE:
			return mkvm_pic_set_irq(&chip->pic, 8 + r->irqchip.pin,
						level);
		default:
			return mkvm_ioapic_set_irq(&chip->ioapic,
						   r->irqchip.pin, level);
		}
	default:
		/* An MSI fires on the rising edge only. */
		return level ? mkvm_msi_deliver(vm, r->msi.address, r->msi.data)
			     : -1;
	}
}

#define MKVM_MAX_ROUTES_PER_GSI	3	/* one per chip */

/* GSI @gsi's routes copied into @routes; how many.  Under RCU. */
static int mkvm_routes_of(struct mkvm_vm *vm, u32 gsi,
			  struct mkvm_irq_route *routes)
{
	struct mkvm_irq_routing *rt = rcu_dereference(vm->irqchip->routing);
	u32 lo = 0, hi = rt->nr, i;
	int n = 0;

	while (lo < hi) {
		u32 mid = (lo + hi) / 2;

		if (rt->route[mid].gsi < gsi)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < rt->nr && n < MKVM_MAX_ROUTES_PER_GSI; i++) {
		if (rt->route[i].gsi != gsi)
			break;
		routes[n++] = rt->route[i];
	}
	return n;
}

/* @level on each of @n routes: the deliveries summed, -1 if none. */
static int mkvm_routes_set(struct mkvm_vm *vm,
			   const struct mkvm_irq_route *routes, int n,
			   int level)
{
	int i, r, ret = -1;

	for (i = 0; i < n; i++) {
		r = mkvm_route_set(vm, &routes[i], level);
		if (r >= 0)
			ret = r + (ret < 0 ? 0 : ret);
	}
	return ret;
}

/*
 * Set GSI @gsi to @level on every route it has.  As KVM: -1 if nothing
 * took it, 0 if it was masked or coalesced, >0 if delivered.
 */
int mkvm_irq_set(struct mkvm_vm *vm, u32 gsi, int level)
{
	struct mkvm_irq_route routes[MKVM_MAX_ROUTES_PER_GSI];
	int n;

	/* Copy the routes out: the chips are called outside RCU. */
	rcu_read_lock();
	n = mkvm_routes_of(vm, gsi, routes);
	rcu_read_unlock();
	return mkvm_routes_set(vm, routes, n, level);
}

/*
 * A pulse on GSI @gsi from atomic context (an irqfd's wake-up, its
 * eventfd's wait-queue lock held, interrupts off), as KVM's
 * kvm_arch_set_irq_inatomic(): done here if every route of @gsi is an
 * MSI, whose delivery only sets LAPIC bits and kicks (as the LAPIC
 * timer's hrtimer does).  -EWOULDBLOCK if one goes to the PIC or the
 * IOAPIC, whose locks are never taken in hard interrupt context (an
 * eventfd may be signalled there): the caller defers to a worker.
 */
int mkvm_irq_pulse_inatomic(struct mkvm_vm *vm, u32 gsi)
{
	struct mkvm_irq_route routes[MKVM_MAX_ROUTES_PER_GSI];
	int i, n;

	rcu_read_lock();
	n = mkvm_routes_of(vm, gsi, routes);
	rcu_read_unlock();
	for (i = 0; i < n; i++)
		if (routes[i].type != KVM_IRQ_ROUTING_MSI)
			return -EWOULDBLOCK;
	return mkvm_routes_set(vm, routes, n, 1);
}

/* Whether GSI @gsi has a route to pin @pin of irqchip @chip. */
bool mkvm_irq_routes_to(struct mkvm_vm *vm, u32 gsi, u32 chip, u32 pin)
{
	struct mkvm_irq_routing *rt;
	bool hit = false;
	u32 i;

	rcu_read_lock();
	rt = rcu_dereference(vm->irqchip->routing);
	for (i = 0; i < rt->nr && !hit; i++)
		hit = rt->route[i].gsi == gsi &&
		      rt->route[i].type == KVM_IRQ_ROUTING_IRQCHIP &&
		      rt->route[i].irqchip.chip == chip &&
		      rt->route[i].irqchip.pin == pin;
	rcu_read_unlock();
	return hit;
}

/*
 * KVM_CREATE_IRQCHIP, or with @split KVM_CAP_SPLIT_IRQCHIP for @pins
 * IOAPIC pins: once, before any vCPU (too late, KVM_CREATE_IRQCHIP is
 * -EINVAL and the capability -EEXIST, as in KVM).
 */
static long mkvm_irqchip_create(struct mkvm_vm *vm, bool split, u32 pins)
{
	struct mkvm_irqchip *chip;
	struct mkvm_irq_routing *rt;
	long r;

	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		return -ENOMEM;
	/* Split: no routes until userspace sets its IOAPIC's. */
	rt = split ? kvzalloc(sizeof(*rt), GFP_KERNEL_ACCOUNT) :
		     mkvm_routing_default();
	if (IS_ERR_OR_NULL(rt)) {
		kfree(chip);
		return rt ? PTR_ERR(rt) : -ENOMEM;
	}
	chip->split = split;
	chip->nr_ioapic_pins = pins;
	mkvm_pic_init(&chip->pic, vm);
	mkvm_ioapic_init(&chip->ioapic, vm);
	RCU_INIT_POINTER(chip->routing, rt);

	mutex_lock(&vm->lock);
	mutex_lock(&vm->irq_lock);
	r = -EEXIST;
	if (vm->irqchip)
		goto unlock;
	r = split ? -EEXIST : -EINVAL;
	if (atomic_read(&vm->nr_vcpus))
		goto unlock;
	/* Pairs with the lock-free readers: the chips are set up first. */
	smp_store_release(&vm->irqchip, chip);
	r = 0;
unlock:
	mutex_unlock(&vm->irq_lock);
	mutex_unlock(&vm->lock);
	if (r) {
		kvfree(rt);
		kfree(chip);
	}
	return r;
}

long mkvm_irqchip_enable_split(struct mkvm_vm *vm, u64 pins)
{
	/* As KVM's MAX_NR_RESERVED_IOAPIC_PINS: any GSI a route may have. */
	if (pins > MKVM_MAX_IRQ_ROUTES)
		return -EINVAL;
	return mkvm_irqchip_create(vm, true, pins);
}

void mkvm_irqchip_free(struct mkvm_vm *vm)
{
	struct mkvm_irqchip *chip = vm->irqchip;

	if (!chip)
		return;
	kvfree(rcu_dereference_protected(chip->routing, 1));
	kfree(chip);
	vm->irqchip = NULL;
}

static long mkvm_irq_line(struct mkvm_vm *vm, void __user *argp, bool status)
{
	struct kvm_irq_level l;

	if (copy_from_user(&l, argp, sizeof(l)))
		return -EFAULT;
	l.status = mkvm_irq_set(vm, l.irq, !!l.level);
	if (status && copy_to_user(argp, &l, sizeof(l)))
		return -EFAULT;
	return 0;
}

static long mkvm_set_gsi_routing(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_irq_routing __user *ur = argp;
	struct kvm_irq_routing_entry *ue = NULL;
	struct mkvm_irq_routing *rt;
	struct kvm_irq_routing h;

	if (copy_from_user(&h, ur, sizeof(h)))
		return -EFAULT;
	if (h.nr > MKVM_MAX_IRQ_ROUTES || h.flags)
		return -EINVAL;
	if (h.nr) {
		ue = vmemdup_user(ur->entries, array_size(sizeof(*ue), h.nr));
		if (IS_ERR(ue))
			return PTR_ERR(ue);
	}
	rt = mkvm_routing_build(ue, h.nr, vm->irqchip->split);
	kvfree(ue);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	mutex_lock(&vm->irq_lock);
	mkvm_routing_swap(vm, rt);
	mutex_unlock(&vm->irq_lock);
	return 0;
}

static long mkvm_signal_msi(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_msi msi;

	if (copy_from_user(&msi, argp, sizeof(msi)))
		return -EFAULT;
	if (msi.flags)
		return -EINVAL;
	/* As KVM: the number of LAPICs reached, -1 (EPERM) for none. */
	return mkvm_msi_deliver(vm, msi.address_lo |
				(u64)msi.address_hi << 32, msi.data);
}

static long mkvm_irqchip_state(struct mkvm_vm *vm, void __user *argp,
			       bool set)
{
	struct mkvm_irqchip *chip = vm->irqchip;
	struct kvm_irqchip *s;
	long r = 0;

	s = memdup_user(argp, sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	switch (s->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		if (set)
			r = mkvm_pic_set_state(&chip->pic, s->chip_id,
					       &s->chip.pic);
		else
			mkvm_pic_get_state(&chip->pic, s->chip_id, &s->chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		if (set)
			r = mkvm_ioapic_set_state(&chip->ioapic,
						  &s->chip.ioapic);
		else
			mkvm_ioapic_get_state(&chip->ioapic, &s->chip.ioapic);
		break;
	default:
		r = -EINVAL;
		break;
	}
	if (!r && !set && copy_to_user(argp, s, sizeof(*s)))
		r = -EFAULT;
	kfree(s);
	return r;
}

/* The VM ioctls of the irqchip; -ENOTTY for any other. */
long mkvm_irqchip_ioctl(struct mkvm_vm *vm, unsigned int ioctl,
			void __user *argp)
{
	struct mkvm_irqchip *chip;

	if (ioctl == KVM_CREATE_IRQCHIP)
		return mkvm_irqchip_create(vm, false, 0);
	/* Pairs with the release in mkvm_irqchip_create(): chips set up. */
	chip = smp_load_acquire(&vm->irqchip);
	switch (ioctl) {
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
		if (!chip)
			return -ENXIO;
		break;
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		/* Split, the PIC and the IOAPIC are userspace's. */
		if (!chip || chip->split)
			return -ENXIO;
		break;
	case KVM_SET_GSI_ROUTING:
	case KVM_SIGNAL_MSI:
		if (!chip)
			return -EINVAL;
		break;
	default:
		/* Split, the PIT is userspace's too (-ENOENT, as KVM 6.12). */
		if (chip && chip->split)
			chip = NULL;
		return mkvm_pit_ioctl(vm, chip, ioctl, argp);
	}
	switch (ioctl) {
	case KVM_IRQ_LINE:
		return mkvm_irq_line(vm, argp, false);
	case KVM_IRQ_LINE_STATUS:
		return mkvm_irq_line(vm, argp, true);
	case KVM_GET_IRQCHIP:
		return mkvm_irqchip_state(vm, argp, false);
	case KVM_SET_IRQCHIP:
		return mkvm_irqchip_state(vm, argp, true);
	case KVM_SET_GSI_ROUTING:
		return mkvm_set_gsi_routing(vm, argp);
	default:
		return mkvm_signal_msi(vm, argp);
	}
}

int mkvm_irqchip_pio(struct mkvm_vcpu *vcpu, u16 port, bool in,
		     unsigned int size, void *data)
{
	struct mkvm_irqchip *chip = vcpu->vm->irqchip;
	u8 v = *(u8 *)data;
	int r;

	if (!chip || chip->split)
		return -ENOENT;
	r = mkvm_pic_pio(&chip->pic, port, in, &v);
	if (r == -ENOENT)
		r = mkvm_pit_pio(chip, port, in, &v);
	if (r)
		return r;
	if (in) {
		memset(data, 0, size);
		*(u8 *)data = v;
	}
	return 0;
}

int mkvm_irqchip_mmio(struct mkvm_vcpu *vcpu, u64 gpa, void *data,
		      unsigned int len, bool write)
{
	struct mkvm_irqchip *chip = vcpu->vm->irqchip;

	if (!chip)
		return -ENOENT;
	if (mkvm_lapic_mmio_in_range(vcpu, gpa)) {
		mkvm_lapic_mmio(vcpu, gpa, data, len, write);
		return 0;
	}
	if (!chip->split && mkvm_ioapic_in_range(&chip->ioapic, gpa)) {
		mkvm_ioapic_mmio(&chip->ioapic, gpa, data, len, write);
		return 0;
	}
	return -ENOENT;
}
