// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation, the vCPU fd with its mmap'ed pages, and the one-line
 * dispatch of its ioctls to the files that own each concern (run.c,
 * regs.c, msr.c, cpuid.c, dr.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "minikvm.h"

/*
 * KVM_SET_MP_STATE: without an in-kernel LAPIC only RUNNABLE exists, as
 * in KVM; with one, SIPI_RECEIVED is INIT_RECEIVED with the SIPI pending
 * (its vector is the LAPIC's last).
 */
static int mkvm_set_mp_state(struct mkvm_vcpu *vcpu, u32 state)
{
	if (!vcpu->apic)
		return state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
	switch (state) {
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_HALTED:
		vcpu->mp_state = state;
		break;
	case KVM_MP_STATE_SIPI_RECEIVED:
		vcpu->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		set_bit(MKVM_APIC_SIPI, &vcpu->apic->pending);
		break;
	default:
		return -EINVAL;
	}
	mkvm_make_request(vcpu, MKVM_REQ_EVENT);
	return 0;
}

/*
 * KVM_ENABLE_CAP on a vCPU: only KVM_CAP_ENFORCE_PV_FEATURE_CPUID, which
 * holds the guest's hypercalls to the features of its 0x40000001 leaf.
 */
static int mkvm_vcpu_enable_cap(struct mkvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags || cap.cap != KVM_CAP_ENFORCE_PV_FEATURE_CPUID)
		return -EINVAL;
	vcpu->pv_enforce = cap.args[0];
	return 0;
}

/*
 * KVM_SET_SIGNAL_MASK: the signal mask the thread has while in KVM_RUN
 * (SIGKILL and SIGSTOP never blocked), or none (NULL): the thread's own.
 * VMMs block the signal they kick vCPU threads with and unblock it here,
 * so that it interrupts KVM_RUN only.
 */
static int mkvm_set_signal_mask(struct mkvm_vcpu *vcpu,
				struct kvm_signal_mask __user *argp)
{
	struct kvm_signal_mask m;
	sigset_t set;

	if (!argp) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&m, argp, sizeof(m)))
		return -EFAULT;
	if (m.len != sizeof(set))
		return -EINVAL;
	if (copy_from_user(&set, argp->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

static long mkvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct mkvm_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
		struct kvm_interrupt irq;
		struct kvm_mp_state mp;
		struct kvm_debugregs dbg;
		struct kvm_lapic_state lapic;
	} *u;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	/* The hot one first, with nothing to allocate. */
	if (ioctl == KVM_RUN) {
		r = arg ? -EINVAL : mkvm_vcpu_run(vcpu);
		goto out;
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	r = -ENOMEM;
	if (!u)
		goto out;

	switch (ioctl) {
	case KVM_GET_REGS:
		mkvm_get_regs(vcpu, &u->regs);
		r = copy_to_user(argp, &u->regs, sizeof(u->regs)) ? -EFAULT : 0;
		break;
	case KVM_SET_REGS:
		r = -EFAULT;
		if (copy_from_user(&u->regs, argp, sizeof(u->regs)))
			break;
		mkvm_set_regs(vcpu, &u->regs);
		r = 0;
		break;
	case KVM_GET_SREGS:
		mkvm_get_sregs(vcpu, &u->sregs);
		r = copy_to_user(argp, &u->sregs, sizeof(u->sregs)) ? -EFAULT : 0;
		break;
	case KVM_SET_SREGS:
		r = -EFAULT;
		if (copy_from_user(&u->sregs, argp, sizeof(u->sregs)))
			break;
		r = mkvm_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		mkvm_get_fpu(vcpu, &u->fpu);
		r = copy_to_user(argp, &u->fpu, sizeof(u->fpu)) ? -EFAULT : 0;
		break;
	case KVM_SET_FPU:
		r = -EFAULT;
		if (copy_from_user(&u->fpu, argp, sizeof(u->fpu)))
			break;
		r = mkvm_set_fpu(vcpu, &u->fpu);
		break;
	case KVM_GET_MSRS:
		r = mkvm_msrs_ioctl(vcpu, argp, false);
		break;
	case KVM_SET_MSRS:
		r = mkvm_msrs_ioctl(vcpu, argp, true);
		break;
	case KVM_SET_CPUID2:
		r = mkvm_set_cpuid2(vcpu, argp);
		break;
	case KVM_GET_CPUID2:
		r = mkvm_get_cpuid2(vcpu, argp);
		break;
	case KVM_INTERRUPT:
		r = -EFAULT;
		if (copy_from_user(&u->irq, argp, sizeof(u->irq)))
			break;
		r = -EINVAL;
		if (u->irq.irq >= KVM_NR_INTERRUPTS)
			break;
		if (vcpu->apic) {
			r = mkvm_lapic_set_extint(vcpu, u->irq.irq);
			break;
		}
		if (!mkvm_set_user_interrupt(vcpu, u->irq.irq))
			break;
		mkvm_stat_add(&vcpu->stats.injections, 1);
		r = 0;
		break;
	case KVM_SET_SIGNAL_MASK:
		r = mkvm_set_signal_mask(vcpu, argp);
		break;
	case KVM_SET_VAPIC_ADDR: {
		struct kvm_vapic_addr va;

		r = -EFAULT;
		if (copy_from_user(&va, argp, sizeof(va)))
			break;
		r = vcpu->apic ? mkvm_lapic_set_vapic_addr(vcpu, va.vapic_addr) :
				 -EINVAL;
		break;
	}
	case KVM_X86_SETUP_MCE:
		r = mkvm_mce_setup(vcpu, argp);
		break;
	case KVM_NMI:
		/* With or without an in-kernel irqchip, as KVM. */
		mkvm_queue_nmi(vcpu);
		r = 0;
		break;
	case KVM_GET_DEBUGREGS:
		mkvm_get_debugregs(vcpu, &u->dbg);
		r = copy_to_user(argp, &u->dbg, sizeof(u->dbg)) ? -EFAULT : 0;
		break;
	case KVM_SET_DEBUGREGS:
		r = -EFAULT;
		if (copy_from_user(&u->dbg, argp, sizeof(u->dbg)))
			break;
		r = mkvm_set_debugregs(vcpu, &u->dbg);
		break;
	case KVM_GET_MP_STATE:
		if (vcpu->apic)
			mkvm_lapic_accept_events(vcpu);
		u->mp.mp_state = vcpu->mp_state;
		r = copy_to_user(argp, &u->mp, sizeof(u->mp)) ? -EFAULT : 0;
		break;
	case KVM_SET_MP_STATE:
		r = -EFAULT;
		if (copy_from_user(&u->mp, argp, sizeof(u->mp)))
			break;
		r = mkvm_set_mp_state(vcpu, u->mp.mp_state);
		break;
	case KVM_GET_TSC_KHZ:
		/* The guest's TSC runs at the host's rate. */
		r = tsc_khz ? tsc_khz : -EIO;
		break;
	case KVM_GET_LAPIC:
		r = -EINVAL;
		if (!vcpu->apic)
			break;
		mkvm_lapic_get_state(vcpu, &u->lapic);
		r = copy_to_user(argp, &u->lapic, sizeof(u->lapic)) ? -EFAULT : 0;
		break;
	case KVM_SET_LAPIC:
		r = -EINVAL;
		if (!vcpu->apic)
			break;
		r = -EFAULT;
		if (copy_from_user(&u->lapic, argp, sizeof(u->lapic)))
			break;
		r = mkvm_lapic_set_state(vcpu, &u->lapic);
		break;
	case KVM_GET_VCPU_EVENTS:
		r = mkvm_vcpu_events_ioctl(vcpu, argp, false);
		break;
	case KVM_SET_VCPU_EVENTS:
		r = mkvm_vcpu_events_ioctl(vcpu, argp, true);
		break;
	case KVM_GET_XSAVE:
		r = mkvm_get_xsave(vcpu, argp, false);
		break;
	case KVM_GET_XSAVE2:
		r = mkvm_get_xsave(vcpu, argp, true);
		break;
	case KVM_SET_XSAVE:
		r = mkvm_set_xsave(vcpu, argp);
		break;
	case KVM_GET_XCRS:
		r = mkvm_xcrs_ioctl(vcpu, argp, false);
		break;
	case KVM_SET_XCRS:
		r = mkvm_xcrs_ioctl(vcpu, argp, true);
		break;
	case KVM_GET_STATS_FD:
		r = mkvm_vcpu_stats_fd(vcpu);
		break;
	case KVM_ENABLE_CAP:
		r = mkvm_vcpu_enable_cap(vcpu, argp);
		break;
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		r = mkvm_tsc_attr_ioctl(vcpu, ioctl, argp);
		break;
	default:
		r = -ENOTTY;
		break;
	}
	kfree(u);
out:
	mutex_unlock(&vcpu->mutex);
	return r;
}

static vm_fault_t mkvm_vcpu_fault(struct vm_fault *vmf)
{
	struct mkvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KVM_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mkvm_vcpu_vm_ops = {
	.fault = mkvm_vcpu_fault,
};

static int mkvm_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	vma->vm_ops = &mkvm_vcpu_vm_ops;
	return 0;
}

static int mkvm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct mkvm_vcpu *vcpu = filp->private_data;

	mkvm_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations mkvm_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= mkvm_vcpu_release,
	.unlocked_ioctl	= mkvm_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= mkvm_vcpu_mmap,
	.llseek		= noop_llseek,
};

/* Called when the VM is freed: no fd refers to the vCPU any more. */
void mkvm_vcpu_free(struct mkvm_vcpu *vcpu)
{
	mkvm_ops->vcpu_free(vcpu);
	fpu_free_guest_fpstate(&vcpu->fpu);
	mkvm_lapic_free(vcpu);
	kvfree(vcpu->cpuid);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

int mkvm_create_vcpu(struct mkvm_vm *vm, unsigned long id)
{
	const struct mkvm_msr_filter *filter;
	struct mkvm_vcpu *vcpu;
	struct file *file;
	int i, r, fd;

	if (id >= MKVM_MAX_VCPU_ID)
		return -EINVAL;

	vcpu = kzalloc(mkvm_ops->vcpu_size, GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	init_waitqueue_head(&vcpu->wq);
	preempt_notifier_init(&vcpu->pn, &mkvm_preempt_ops);
	/* As KVM: every bank, all off, until KVM_X86_SETUP_MCE. */
	vcpu->mce.cap = MKVM_MCE_BANKS;

	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data)
		goto free_pages;
	if (!fpu_alloc_guest_fpstate(&vcpu->fpu))
		goto free_pages;
	r = mkvm_ops->vcpu_create(vcpu);
	if (r)
		goto free_fpu;
	mkvm_vcpu_reset(vcpu, false);
	/* Its MSR intercepts follow the filter from its first entry on. */
	mkvm_make_request(vcpu, MKVM_REQ_MSR_FILTER);

	mutex_lock(&vm->lock);
	/* As KVM: the first vCPU fixes the bound KVM_ENABLE_CAP did not set. */
	if (!vm->max_vcpu_ids)
		vm->max_vcpu_ids = MKVM_MAX_VCPU_ID;
	r = -EINVAL;
	if (atomic_read(&vm->nr_vcpus) >= MKVM_MAX_VCPUS ||
	    id >= vm->max_vcpu_ids)
		goto unlock;
	r = -EEXIST;
	for (i = 0; i < atomic_read(&vm->nr_vcpus); i++)
		if (vm->vcpus[i]->id == id)
			goto unlock;
	filter = rcu_dereference_protected(vm->msr_filter,
					   lockdep_is_held(&vm->lock));
	r = mkvm_msr_map_for_filter(vcpu, filter);
	if (r)
		goto unlock;
	/*
	 * With an in-kernel irqchip (which vm->lock keeps from appearing
	 * meanwhile), the vCPU gets its LAPIC; as in KVM, an AP then waits
	 * for INIT and SIPI.
	 */
	if (vm->irqchip) {
		r = mkvm_lapic_create(vcpu);
		if (r)
			goto unlock;
		mkvm_lapic_reset(vcpu, false);
		if (id != vm->bsp_id)
			vcpu->mp_state = KVM_MP_STATE_UNINITIALIZED;
	}

	/*
	 * Reserve the fd and create the file first: past them nothing can
	 * fail, and the vCPU is published (vcpus[] before nr_vcpus, for the
	 * lock-free readers) and its fd installed last.  Once installed,
	 * another thread may close it; the vCPU lives until the VM is freed.
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto unlock;
	}
	file = anon_inode_getfile("minikvm-vcpu", &mkvm_vcpu_fops, vcpu,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		r = PTR_ERR(file);
		goto unlock;
	}
	mkvm_vm_get(vm);			/* the file's, put on release */
	i = atomic_read(&vm->nr_vcpus);
	vm->vcpus[i] = vcpu;
	atomic_set_release(&vm->nr_vcpus, i + 1);
	mutex_unlock(&vm->lock);
	fd_install(fd, file);
	return fd;

unlock:
	mutex_unlock(&vm->lock);
	mkvm_lapic_free(vcpu);
	mkvm_ops->vcpu_free(vcpu);
free_fpu:
	fpu_free_guest_fpstate(&vcpu->fpu);
free_pages:
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	return r;
}

void mkvm_vcpu_module_exit(void)
{
	preempt_notifier_dec();
}

void mkvm_vcpu_module_init(void)
{
	preempt_notifier_inc();
	mkvm_cr_init();
}
