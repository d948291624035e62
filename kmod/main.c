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

/* The run path's ops (minikvm.h): pointed at the backend's by the load. */
DEFINE_STATIC_CALL_NULL(mkvm_vcpu_load, *mkvm_svm_ops.vcpu_load);
DEFINE_STATIC_CALL_NULL(mkvm_vcpu_put, *mkvm_svm_ops.vcpu_put);
DEFINE_STATIC_CALL_NULL(mkvm_vcpu_run, *mkvm_svm_ops.vcpu_run);
DEFINE_STATIC_CALL_NULL(mkvm_get_sregs, *mkvm_svm_ops.get_sregs);
DEFINE_STATIC_CALL_NULL(mkvm_get_rflags, *mkvm_svm_ops.get_rflags);
DEFINE_STATIC_CALL_NULL(mkvm_set_rflags, *mkvm_svm_ops.set_rflags);
DEFINE_STATIC_CALL_NULL(mkvm_get_dr, *mkvm_svm_ops.get_dr);
DEFINE_STATIC_CALL_NULL(mkvm_set_dr, *mkvm_svm_ops.set_dr);
DEFINE_STATIC_CALL_NULL(mkvm_get_msr, *mkvm_svm_ops.get_msr);
DEFINE_STATIC_CALL_NULL(mkvm_set_msr, *mkvm_svm_ops.set_msr);
DEFINE_STATIC_CALL_NULL(mkvm_get_cr0, *mkvm_svm_ops.get_cr0);
DEFINE_STATIC_CALL_NULL(mkvm_get_cr4, *mkvm_svm_ops.get_cr4);
DEFINE_STATIC_CALL_NULL(mkvm_get_cr3, *mkvm_svm_ops.get_cr3);
DEFINE_STATIC_CALL_NULL(mkvm_get_efer, *mkvm_svm_ops.get_efer);
DEFINE_STATIC_CALL_NULL(mkvm_get_segment, *mkvm_svm_ops.get_segment);
DEFINE_STATIC_CALL_NULL(mkvm_get_seg_attr, *mkvm_svm_ops.get_seg_attr);
DEFINE_STATIC_CALL_NULL(mkvm_interrupt_allowed, *mkvm_svm_ops.interrupt_allowed);
DEFINE_STATIC_CALL_NULL(mkvm_nmi_allowed, *mkvm_svm_ops.nmi_allowed);
DEFINE_STATIC_CALL_NULL(mkvm_get_nmi_mask, *mkvm_svm_ops.get_nmi_mask);
DEFINE_STATIC_CALL_NULL(mkvm_inject_event, *mkvm_svm_ops.inject_event);
DEFINE_STATIC_CALL_NULL(mkvm_set_cr2, *mkvm_svm_ops.set_cr2);
DEFINE_STATIC_CALL_NULL(mkvm_enable_irq_window, *mkvm_svm_ops.enable_irq_window);
DEFINE_STATIC_CALL_NULL(mkvm_enable_nmi_window, *mkvm_svm_ops.enable_nmi_window);
DEFINE_STATIC_CALL_NULL(mkvm_in_interrupt_shadow, *mkvm_svm_ops.in_interrupt_shadow);
DEFINE_STATIC_CALL_NULL(mkvm_npt_levels, *mkvm_svm_ops.npt_levels);
DEFINE_STATIC_CALL_NULL(mkvm_npt_has_huge, *mkvm_svm_ops.npt_has_huge);
DEFINE_STATIC_CALL_NULL(mkvm_npt_table_entry, *mkvm_svm_ops.npt_table_entry);
DEFINE_STATIC_CALL_NULL(mkvm_npt_leaf_entry, *mkvm_svm_ops.npt_leaf_entry);
DEFINE_STATIC_CALL_NULL(mkvm_npt_huge_entry, *mkvm_svm_ops.npt_huge_entry);
DEFINE_STATIC_CALL_NULL(mkvm_npt_present, *mkvm_svm_ops.npt_present);
DEFINE_STATIC_CALL_NULL(mkvm_flush_tlb, *mkvm_svm_ops.flush_tlb);
DEFINE_STATIC_CALL_NULL(mkvm_fetch_rsp, *mkvm_svm_ops.fetch_rsp);

static void mkvm_install_ops(const struct mkvm_backend_ops *ops)
{
	static_call_update(mkvm_vcpu_load, ops->vcpu_load);
	static_call_update(mkvm_vcpu_put, ops->vcpu_put);
	static_call_update(mkvm_vcpu_run, ops->vcpu_run);
	static_call_update(mkvm_get_sregs, ops->get_sregs);
	static_call_update(mkvm_get_rflags, ops->get_rflags);
	static_call_update(mkvm_set_rflags, ops->set_rflags);
	static_call_update(mkvm_get_dr, ops->get_dr);
	static_call_update(mkvm_set_dr, ops->set_dr);
	static_call_update(mkvm_get_msr, ops->get_msr);
	static_call_update(mkvm_set_msr, ops->set_msr);
	static_call_update(mkvm_get_cr0, ops->get_cr0);
	static_call_update(mkvm_get_cr4, ops->get_cr4);
	static_call_update(mkvm_get_cr3, ops->get_cr3);
	static_call_update(mkvm_get_efer, ops->get_efer);
	static_call_update(mkvm_get_segment, ops->get_segment);
	static_call_update(mkvm_get_seg_attr, ops->get_seg_attr);
	static_call_update(mkvm_interrupt_allowed, ops->interrupt_allowed);
	static_call_update(mkvm_nmi_allowed, ops->nmi_allowed);
	static_call_update(mkvm_get_nmi_mask, ops->get_nmi_mask);
	static_call_update(mkvm_inject_event, ops->inject_event);
	static_call_update(mkvm_set_cr2, ops->set_cr2);
	static_call_update(mkvm_enable_irq_window, ops->enable_irq_window);
	static_call_update(mkvm_enable_nmi_window, ops->enable_nmi_window);
	static_call_update(mkvm_in_interrupt_shadow, ops->in_interrupt_shadow);
	static_call_update(mkvm_npt_levels, ops->npt_levels);
	static_call_update(mkvm_npt_has_huge, ops->npt_has_huge);
	static_call_update(mkvm_npt_table_entry, ops->npt_table_entry);
	static_call_update(mkvm_npt_leaf_entry, ops->npt_leaf_entry);
	static_call_update(mkvm_npt_huge_entry, ops->npt_huge_entry);
	static_call_update(mkvm_npt_present, ops->npt_present);
	static_call_update(mkvm_flush_tlb, ops->flush_tlb);
	static_call_update(mkvm_fetch_rsp, ops->fetch_rsp);
}

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
			mkvm_install_ops(mkvm_ops);
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
