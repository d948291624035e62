// SPDX-License-Identifier: GPL-2.0
/*
 * minikvm: the /dev/minikvm device and its system ioctls.
 *
 * The ABI is KVM's (<linux/kvm.h>, API version 12); see
 * Documentation/api.rst for what is implemented.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/kvm.h>

#include "minikvm.h"

const struct mkvm_backend_ops *mkvm_ops __read_mostly;

static const struct mkvm_backend_ops * const mkvm_backends[] = {
	&mkvm_svm_ops,
	&mkvm_vmx_ops,
};

/*
 * The vCPU mmap area: struct kvm_run in the first page, the data of
 * port-IO exits in the second (KVM_PIO_PAGE_OFFSET).
 */
#define MKVM_VCPU_MMAP_PAGES	2

static long mkvm_dev_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : KVM_API_VERSION;
	case KVM_CREATE_VM:
		return mkvm_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return mkvm_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : MKVM_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_GET_MSR_INDEX_LIST:
		return mkvm_get_msr_index_list((void __user *)arg);
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return mkvm_get_msr_feature_index_list((void __user *)arg);
	case KVM_GET_MSRS:
		return mkvm_get_feature_msrs((void __user *)arg);
	case KVM_GET_SUPPORTED_CPUID:
		return mkvm_get_supported_cpuid((void __user *)arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return mkvm_mce_cap_supported((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mkvm_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= mkvm_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice mkvm_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "minikvm",
	.fops	= &mkvm_dev_fops,
	.mode	= 0660,
};

/* Pick the first backend whose hardware is present; explain a refusal. */
static int mkvm_pick_backend(void)
{
	const char *why = NULL;
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(mkvm_backends); i++) {
		r = mkvm_backends[i]->probe(&why);
		if (r > 0) {
			mkvm_ops = mkvm_backends[i];
			return 0;
		}
		if (r < 0) {
			pr_err("%s\n", why);
			return r;
		}
	}
	pr_err("no hardware virtualization: the CPU has neither AMD SVM nor Intel VMX\n");
	return -ENODEV;
}

static int __init mkvm_init(void)
{
	int r;

	r = mkvm_pick_backend();
	if (r)
		return r;

	mkvm_vcpu_module_init();
	r = mkvm_ops->hardware_setup();
	if (r) {
		mkvm_vcpu_module_exit();
		return r;
	}

	r = mkvm_hwvirt_init();
	if (r)
		goto unsetup;

	r = mkvm_eventfd_init();
	if (r)
		goto hwvirt_exit;

	r = mkvm_netlink_init();
	if (r) {
		pr_err("cannot register the netlink family: %d\n", r);
		goto eventfd_exit;
	}

	r = misc_register(&mkvm_dev);
	if (r) {
		pr_err("cannot register /dev/minikvm: %d\n", r);
		goto netlink_exit;
	}

	pr_info("ready, using %s\n", mkvm_ops->name);
	return 0;

netlink_exit:
	mkvm_netlink_exit();
eventfd_exit:
	mkvm_eventfd_exit();
hwvirt_exit:
	mkvm_hwvirt_exit();
unsetup:
	mkvm_ops->hardware_unsetup();
	mkvm_vcpu_module_exit();
	return r;
}

static void __exit mkvm_exit(void)
{
	misc_deregister(&mkvm_dev);
	mkvm_netlink_exit();
	mkvm_eventfd_exit();
	mkvm_hwvirt_exit();
	mkvm_ops->hardware_unsetup();
	mkvm_vcpu_module_exit();
}

module_init(mkvm_init);
module_exit(mkvm_exit);

MODULE_DESCRIPTION("minikvm: a small KVM-compatible hypervisor (AMD SVM, Intel VMX)");
MODULE_LICENSE("GPL");
