// SPDX-License-Identifier: GPL-2.0
/*
 * irqfd and ioeventfd: the eventfd fast paths of virtio devices.
 *
 * KVM_IRQFD ties an eventfd to a GSI: a write to the eventfd raises the
 * GSI (a pulse, or with KVM_IRQFD_FLAG_RESAMPLE a level that the guest's
 * EOI lowers again, signalling the resample eventfd so that the device
 * model can raise it anew).  The eventfd's wake-up runs in any context
 * with its wait-queue lock held: it reads the count and, for a GSI whose
 * routes are all MSIs (a virtio device's), delivers them right there
 * (mkvm_irq_pulse_inatomic(), as KVM does); a GSI with a PIC or IOAPIC
 * route, and a resampled one, is queued on mkvm_irqfd_wq, whose worker
 * calls mkvm_irq_set().  An
 * irqfd ends when userspace deassigns it, when its eventfd is closed
 * (EPOLLHUP) or with its VM; its shutdown also runs on the workqueue,
 * which the VM flushes before its irqchip goes away.
 *
 * KVM_IOEVENTFD ties a port or MMIO address (and optionally a value) to
 * an eventfd: a guest write there signals the eventfd and completes in
 * the kernel, without an exit.  pio.c and mmio.c look the table up (RCU)
 * before they would exit to userspace.
 *
 * Locking: vm->irqfds_lock (spinlock, interrupts off: the eventfd's
 * wake-up takes it) protects vm->irqfds; vm->irq_lock (mutex) protects
 * vm->resamplers with the line state of each, and vm->ioeventfds, which
 * the guest's writes read under RCU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "minikvm.h"

static struct workqueue_struct *mkvm_irqfd_wq;

struct mkvm_irqfd {
	struct mkvm_vm *vm;			/* [I] */
	struct eventfd_ctx *ctx;		/* [I] */
	struct eventfd_ctx *resample;		/* [I] NULL: a pulse per write */
	u32 gsi;				/* [I] */
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table pt;
	struct work_struct inject;
	struct work_struct shutdown;
	struct list_head node;			/* vm->irqfds_lock */
	struct list_head rnode;			/* vm->resamplers: vm->irq_lock */
	bool asserted;				/* resample: the line is high */
};

struct mkvm_ioeventfd {
	struct list_head node;			/* RCU; vm->irq_lock */
	struct rcu_head rcu;
	struct eventfd_ctx *ctx;
	u64 addr;
	u64 datamatch;
	u32 len;				/* 0: any length (MMIO) */
	bool pio;
	bool match;				/* compare datamatch */
};

/* ---- irqfd ------------------------------------------------------------ */

static void mkvm_irqfd_inject(struct work_struct *work)
{
	struct mkvm_irqfd *irqfd = container_of(work, struct mkvm_irqfd, inject);
	struct mkvm_vm *vm = irqfd->vm;

	if (!irqfd->resample) {
		mkvm_irq_set(vm, irqfd->gsi, 1);
		mkvm_irq_set(vm, irqfd->gsi, 0);
		return;
	}
	/* Level: high until the guest's EOI (mkvm_irqfd_ack()). */
	mutex_lock(&vm->irq_lock);
	irqfd->asserted = true;
	mkvm_irq_set(vm, irqfd->gsi, 1);
	mutex_unlock(&vm->irq_lock);
}

static void mkvm_irqfd_shutdown(struct work_struct *work)
{
	struct mkvm_irqfd *irqfd = container_of(work, struct mkvm_irqfd,
						shutdown);
	u64 cnt;

	/* No wake-up runs or comes after this; then no injection either. */
	eventfd_ctx_remove_wait_queue(irqfd->ctx, &irqfd->wait, &cnt);
	flush_work(&irqfd->inject);
	if (irqfd->resample) {
		mutex_lock(&irqfd->vm->irq_lock);
		list_del(&irqfd->rnode);
		if (irqfd->asserted)
			mkvm_irq_set(irqfd->vm, irqfd->gsi, 0);
		mutex_unlock(&irqfd->vm->irq_lock);
		eventfd_ctx_put(irqfd->resample);
	}
	eventfd_ctx_put(irqfd->ctx);
	kfree(irqfd);
}

/* Take @irqfd off its VM's list and shut it down (irqfds_lock held). */
static void mkvm_irqfd_deactivate(struct mkvm_irqfd *irqfd)
{
	lockdep_assert_held(&irqfd->vm->irqfds_lock);
	if (list_empty(&irqfd->node))
		return;			/* already going */
	list_del_init(&irqfd->node);
	queue_work(mkvm_irqfd_wq, &irqfd->shutdown);
}

/* The eventfd's wake-up: its wait-queue lock is held, interrupts off. */
static int mkvm_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			     int sync, void *key)
{
	struct mkvm_irqfd *irqfd = container_of(wait, struct mkvm_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	unsigned long irqflags;
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->ctx, &cnt);
		/* An MSI goes in here; a PIC or IOAPIC line in the worker. */
		if (irqfd->resample ||
		    mkvm_irq_pulse_inatomic(irqfd->vm, irqfd->gsi) == -EWOULDBLOCK)
			queue_work(mkvm_irqfd_wq, &irqfd->inject);
	}
	if (flags & EPOLLHUP) {
		/* The eventfd is being closed. */
		spin_lock_irqsave(&irqfd->vm->irqfds_lock, irqflags);
		mkvm_irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&irqfd->vm->irqfds_lock, irqflags);
	}
	return 0;
}

static void mkvm_irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct mkvm_irqfd *irqfd = container_of(pt, struct mkvm_irqfd, pt);

	irqfd->wqh = wqh;
	add_wait_queue_priority(wqh, &irqfd->wait);
}

static int mkvm_irqfd_assign(struct mkvm_vm *vm, const struct kvm_irqfd *args)
{
	struct mkvm_irqfd *irqfd, *tmp;
	struct eventfd_ctx *resample = NULL;
	struct file *file;
	__poll_t events;
	int r;

	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->node);
	INIT_WORK(&irqfd->inject, mkvm_irqfd_inject);
	INIT_WORK(&irqfd->shutdown, mkvm_irqfd_shutdown);

	file = fget(args->fd);
	r = -EBADF;
	if (!file)
		goto free;
	irqfd->ctx = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->ctx)) {
		r = PTR_ERR(irqfd->ctx);
		goto put_file;
	}
	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		resample = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(resample)) {
			r = PTR_ERR(resample);
			goto put_ctx;
		}
		irqfd->resample = resample;
	}
	init_waitqueue_func_entry(&irqfd->wait, mkvm_irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, mkvm_irqfd_queue_proc);

	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry(tmp, &vm->irqfds, node) {
		if (tmp->ctx == irqfd->ctx) {
			spin_unlock_irq(&vm->irqfds_lock);
			r = -EBUSY;
			goto put_resample;
		}
	}
	list_add_tail(&irqfd->node, &vm->irqfds);
	spin_unlock_irq(&vm->irqfds_lock);
	if (resample) {
		mutex_lock(&vm->irq_lock);
		list_add_tail(&irqfd->rnode, &vm->resamplers);
		mutex_unlock(&vm->irq_lock);
	}

	/* Registers the wake-up; a write made before it counts now. */
	events = vfs_poll(file, &irqfd->pt);
	if (events & EPOLLIN)
		queue_work(mkvm_irqfd_wq, &irqfd->inject);
	fput(file);
	return 0;

put_resample:
	if (resample)
		eventfd_ctx_put(resample);
put_ctx:
	eventfd_ctx_put(irqfd->ctx);
put_file:
	fput(file);
free:
	kfree(irqfd);
	return r;
}

static int mkvm_irqfd_deassign(struct mkvm_vm *vm, const struct kvm_irqfd *args)
{
	struct mkvm_irqfd *irqfd, *tmp;
	struct eventfd_ctx *ctx;

	ctx = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds, node) {
		if (irqfd->ctx == ctx && irqfd->gsi == args->gsi)
			mkvm_irqfd_deactivate(irqfd);
	}
	spin_unlock_irq(&vm->irqfds_lock);
	eventfd_ctx_put(ctx);
	/*
	 * As KVM: once this returns, the irqfd injects nothing more; one
	 * that does not exist (any more) is no error.
	 */
	flush_workqueue(mkvm_irqfd_wq);
	return 0;
}

long mkvm_irqfd(struct mkvm_vm *vm, void __user *argp)
{
	struct mkvm_irqchip *chip;
	struct kvm_irqfd args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (memchr_inv(args.pad, 0, sizeof(args.pad)))
		return -EINVAL;
	if (args.flags & KVM_IRQFD_FLAG_DEASSIGN)
		return mkvm_irqfd_deassign(vm, &args);
	/* Only with the in-kernel irqchip, which injects. */
	chip = smp_load_acquire(&vm->irqchip);
	if (!chip)
		return -EINVAL;
	/*
	 * Resampling follows the in-kernel IOAPIC's EOIs: a split irqchip
	 * has none (its EOIs go to userspace), as KVM says with -EINVAL.
	 */
	if ((args.flags & KVM_IRQFD_FLAG_RESAMPLE) && chip->split)
		return -EINVAL;
	return mkvm_irqfd_assign(vm, &args);
}

/*
 * The guest's EOI of the level interrupt of IOAPIC pin @pin, from the
 * vCPU's thread without the IOAPIC's lock: resample irqfds routed there
 * lower their line (before the IOAPIC looks at it again) and tell
 * userspace, which writes the irqfd again if the device still wants
 * service.
 */
void mkvm_irqfd_ack(struct mkvm_vm *vm, u32 chip, u32 pin)
{
	struct mkvm_irqfd *irqfd;

	if (list_empty(&vm->resamplers))	/* racy: a hint */
		return;
	mutex_lock(&vm->irq_lock);
	list_for_each_entry(irqfd, &vm->resamplers, rnode) {
		if (!irqfd->asserted ||
		    !mkvm_irq_routes_to(vm, irqfd->gsi, chip, pin))
			continue;
		irqfd->asserted = false;
		mkvm_irq_set(vm, irqfd->gsi, 0);
		mkvm_eventfd_signal(irqfd->resample);
	}
	mutex_unlock(&vm->irq_lock);
}

/* ---- ioeventfd -------------------------------------------------------- */

static bool mkvm_ioeventfd_same(const struct mkvm_ioeventfd *p,
				const struct kvm_ioeventfd *args)
{
	bool pio = args->flags & KVM_IOEVENTFD_FLAG_PIO;
	bool match = args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH;

	return p->pio == pio && p->addr == args->addr && p->len == args->len &&
	       p->match == match && (!match || p->datamatch == args->datamatch);
}

static int mkvm_ioeventfd_assign(struct mkvm_vm *vm,
				 const struct kvm_ioeventfd *args)
{
	struct mkvm_ioeventfd *p, *e;
	struct eventfd_ctx *ctx;
	int r = 0;

	ctx = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		eventfd_ctx_put(ctx);
		return -ENOMEM;
	}
	p->ctx = ctx;
	p->addr = args->addr;
	p->len = args->len;
	p->pio = args->flags & KVM_IOEVENTFD_FLAG_PIO;
	p->match = args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH;
	p->datamatch = args->datamatch;

	mutex_lock(&vm->irq_lock);
	list_for_each_entry(e, &vm->ioeventfds, node) {
		if (mkvm_ioeventfd_same(e, args)) {
			r = -EEXIST;
			break;
		}
	}
	if (!r)
		list_add_tail_rcu(&p->node, &vm->ioeventfds);
	mutex_unlock(&vm->irq_lock);
	if (r) {
		eventfd_ctx_put(ctx);
		kfree(p);
	}
	return r;
}

static void mkvm_ioeventfd_free_rcu(struct rcu_head *head)
{
	struct mkvm_ioeventfd *p = container_of(head, struct mkvm_ioeventfd,
						rcu);

	eventfd_ctx_put(p->ctx);
	kfree(p);
}

static int mkvm_ioeventfd_deassign(struct mkvm_vm *vm,
				   const struct kvm_ioeventfd *args)
{
	struct mkvm_ioeventfd *p;
	struct eventfd_ctx *ctx;
	int r = -ENOENT;

	ctx = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	mutex_lock(&vm->irq_lock);
	list_for_each_entry(p, &vm->ioeventfds, node) {
		if (p->ctx == ctx && mkvm_ioeventfd_same(p, args)) {
			list_del_rcu(&p->node);
			call_rcu(&p->rcu, mkvm_ioeventfd_free_rcu);
			r = 0;
			break;
		}
	}
	mutex_unlock(&vm->irq_lock);
	eventfd_ctx_put(ctx);
	return r;
}

#define MKVM_IOEVENTFD_FLAGS (KVM_IOEVENTFD_FLAG_DATAMATCH | \
			      KVM_IOEVENTFD_FLAG_PIO | \
			      KVM_IOEVENTFD_FLAG_DEASSIGN)

long mkvm_ioeventfd(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_ioeventfd args;
	bool pio;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	pio = args.flags & KVM_IOEVENTFD_FLAG_PIO;
	/* As KVM: lengths 0 (MMIO only, no datamatch), 1, 2, 4, 8. */
	if (args.flags & ~MKVM_IOEVENTFD_FLAGS)
		return -EINVAL;
	switch (args.len) {
	case 0:
		if (pio || (args.flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
			return -EINVAL;
		break;
	case 1: case 2: case 4: case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args.addr + args.len < args.addr)
		return -EINVAL;
	if (pio && args.addr + args.len > 0x10000)
		return -EINVAL;
	if (args.flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return mkvm_ioeventfd_deassign(vm, &args);
	return mkvm_ioeventfd_assign(vm, &args);
}

/*
 * A guest write of @len bytes of @val at port or GPA @addr: signal the
 * eventfd that matches; whether one did (the write is then complete).
 */
bool mkvm_ioeventfd_write(struct mkvm_vm *vm, bool pio, u64 addr,
			  unsigned int len, u64 val)
{
	struct mkvm_ioeventfd *p;
	bool hit = false;

	if (list_empty(&vm->ioeventfds))
		return false;
	rcu_read_lock();
	list_for_each_entry_rcu(p, &vm->ioeventfds, node) {
		if (p->pio != pio || p->addr != addr ||
		    (p->len && p->len != len))
			continue;
		if (p->match && (len > 8 ||
				 (val & (len == 8 ? ~0ULL : BIT_ULL(len * 8) - 1)) !=
				 p->datamatch))
			continue;
		mkvm_eventfd_signal(p->ctx);
		hit = true;
		break;
	}
	rcu_read_unlock();
	return hit;
}

/* ---- VM lifetime, module ------------------------------------------------ */

void mkvm_eventfd_vm_init(struct mkvm_vm *vm)
{
	spin_lock_init(&vm->irqfds_lock);
	INIT_LIST_HEAD(&vm->irqfds);
	INIT_LIST_HEAD(&vm->resamplers);
	INIT_LIST_HEAD(&vm->ioeventfds);
}

/* The VM is going: no fd refers to it any more. */
void mkvm_eventfd_vm_release(struct mkvm_vm *vm)
{
	struct mkvm_irqfd *irqfd, *tmp;
	struct mkvm_ioeventfd *p, *n;

	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds, node)
		mkvm_irqfd_deactivate(irqfd);
	spin_unlock_irq(&vm->irqfds_lock);
	flush_workqueue(mkvm_irqfd_wq);

	list_for_each_entry_safe(p, n, &vm->ioeventfds, node) {
		list_del(&p->node);
		eventfd_ctx_put(p->ctx);
		kfree(p);
	}
}

int mkvm_eventfd_init(void)
{
	mkvm_irqfd_wq = alloc_workqueue("minikvm-irqfd", 0, 0);
	return mkvm_irqfd_wq ? 0 : -ENOMEM;
}

void mkvm_eventfd_exit(void)
{
	destroy_workqueue(mkvm_irqfd_wq);
}
