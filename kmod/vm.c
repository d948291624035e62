// SPDX-License-Identifier: GPL-2.0
/*
 * VM objects and the VM file descriptor.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kvm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "minikvm.h"

static DEFINE_MUTEX(mkvm_vms_lock);
static LIST_HEAD(mkvm_vms);			/* [g] every live VM */
static DEFINE_IDA(mkvm_vm_ids);

/*
 * What KVM_CHECK_EXTENSION answers, on the system fd (vm == NULL) and on
 * VM fds.  Only what is implemented: an absent capability answers 0.
 */
long mkvm_check_extension(struct mkvm_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_CHECK_EXTENSION_VM:
		return 1;
	default:
		return 0;
	}
}

static void mkvm_vm_free(struct mkvm_vm *vm)
{
	mutex_lock(&mkvm_vms_lock);
	list_del(&vm->node);
	mutex_unlock(&mkvm_vms_lock);

	ida_free(&mkvm_vm_ids, vm->id);
	mmdrop(vm->mm);
	kfree(vm);
	mkvm_hwvirt_put();
}

static void mkvm_vm_put(struct mkvm_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		mkvm_vm_free(vm);
}

static int mkvm_vm_release(struct inode *inode, struct file *filp)
{
	mkvm_vm_put(filp->private_data);
	return 0;
}

static long mkvm_vm_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	struct mkvm_vm *vm = filp->private_data;

	/* A VM belongs to the address space that created it. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CHECK_EXTENSION:
		return mkvm_check_extension(vm, arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mkvm_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= mkvm_vm_release,
	.unlocked_ioctl	= mkvm_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

int mkvm_create_vm(unsigned long type)
{
	struct mkvm_vm *vm;
	int r, fd;

	/* Only the default x86 VM type (KVM_X86_DEFAULT_VM == 0). */
	if (type)
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;

	r = ida_alloc_min(&mkvm_vm_ids, 1, GFP_KERNEL_ACCOUNT);
	if (r < 0)
		goto free_vm;
	vm->id = r;

	refcount_set(&vm->users, 1);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	vm->pid = task_tgid_nr(current);
	vm->uid = current_euid();
	vm->created_ns = ktime_get_boottime_ns();

	r = mkvm_hwvirt_get();
	if (r)
		goto drop_mm;

	mutex_lock(&mkvm_vms_lock);
	list_add_tail(&vm->node, &mkvm_vms);
	mutex_unlock(&mkvm_vms_lock);

	/* From here on the VM is torn down by mkvm_vm_put(). */
	fd = anon_inode_getfd("minikvm-vm", &mkvm_vm_fops, vm,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0)
		mkvm_vm_put(vm);
	return fd;

drop_mm:
	mmdrop(vm->mm);
	ida_free(&mkvm_vm_ids, vm->id);
free_vm:
	kfree(vm);
	return r;
}
