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
#include <linux/uaccess.h>
#include <asm/msr.h>

#include "minikvm.h"

static DEFINE_MUTEX(mkvm_vms_lock);
static LIST_HEAD(mkvm_vms);			/* [g] every live VM */
static DEFINE_IDA(mkvm_vm_ids);

/* For netlink.c: the list, and the lock a VM leaves it under. */
void mkvm_vm_list_lock(void)
{
	mutex_lock(&mkvm_vms_lock);
}

void mkvm_vm_list_unlock(void)
{
	mutex_unlock(&mkvm_vms_lock);
}

struct list_head *mkvm_vm_list(void)
{
	return &mkvm_vms;
}

/*
 * What KVM_CHECK_EXTENSION answers, on the system fd (vm == NULL) and on
 * VM fds.  Only what is implemented: an absent capability answers 0.
 */
long mkvm_check_extension(struct mkvm_vm *vm, long cap)
{
	if (cap == KVM_CAP_CHECK_EXTENSION_VM)
		return 1;
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_VAPIC:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_XSAVE:
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
	case KVM_CAP_VCPU_ATTRIBUTES:
	case KVM_CAP_DISABLE_QUIRKS:
	case KVM_CAP_PIT:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
		return 1;
	case KVM_CAP_DISABLE_QUIRKS2:
		return MKVM_QUIRKS;
	case KVM_CAP_XCRS:
		return boot_cpu_has(X86_FEATURE_XSAVE);
	case KVM_CAP_XSAVE2:
		return mkvm_xsave_uabi_size();
	case KVM_CAP_IRQ_ROUTING:
		return MKVM_MAX_IRQ_ROUTES;
	case KVM_CAP_SYNC_REGS:
		return KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
		       KVM_SYNC_X86_EVENTS;
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
		return 1;
	case KVM_CAP_BINARY_STATS_FD:
		return 1;
	case KVM_CAP_ADJUST_CLOCK:
		return MKVM_CLOCK_FLAGS;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return MKVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return MKVM_MAX_VCPU_ID;
	case KVM_CAP_NR_MEMSLOTS:
		return MKVM_MAX_SLOTS;
	case KVM_CAP_MCE:
		return MKVM_MCE_BANKS;
	default:
		return 0;
	}
}

/* Tear down what mkvm_vm_init() built, on a VM nobody uses. */
static void mkvm_vm_uninit(struct mkvm_vm *vm)
{
	int i;

	mkvm_eventfd_vm_release(vm);
	mkvm_pit_free(vm);		/* its work delivers to the vCPUs */
	mkvm_free_memslots(vm);
	for (i = 0; i < atomic_read(&vm->nr_vcpus); i++)
		mkvm_vcpu_free(vm->vcpus[i]);
	mkvm_irqchip_free(vm);
	mkvm_free_msr_filter(vm);
	mkvm_mmu_destroy(vm);
	cleanup_srcu_struct(&vm->srcu);
}

static void mkvm_vm_free(struct mkvm_vm *vm)
{
	mutex_lock(&mkvm_vms_lock);
	list_del(&vm->node);
	mutex_unlock(&mkvm_vms_lock);
	mkvm_netlink_event(vm, MINIKVM_EVENT_VM_DESTROYED, -1);

	mkvm_vm_uninit(vm);
	ida_free(&mkvm_vm_ids, vm->id);
	mmdrop(vm->mm);
	kfree(vm);
	mkvm_hwvirt_put();
}

void mkvm_vm_get(struct mkvm_vm *vm)
{
	refcount_inc(&vm->users);
}

void mkvm_vm_put(struct mkvm_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		mkvm_vm_free(vm);
}

static int mkvm_vm_init(struct mkvm_vm *vm)
{
	struct mkvm_memslots *slots;
	int r;

	mutex_init(&vm->lock);
	mutex_init(&vm->slots_lock);
	mutex_init(&vm->irq_lock);
	mkvm_eventfd_vm_init(vm);
	vm->platform_info_read = true;
	vm->tsc_base = rdtsc();
	r = init_srcu_struct(&vm->srcu);
	if (r)
		return r;
	slots = kzalloc(sizeof(*slots), GFP_KERNEL_ACCOUNT);
	if (!slots)
		goto cleanup_srcu;
	RCU_INIT_POINTER(vm->slots, slots);
	r = mkvm_mmu_init(vm);
	if (r)
		goto free_slots;
	return 0;

free_slots:
	kfree(slots);
	RCU_INIT_POINTER(vm->slots, NULL);
cleanup_srcu:
	cleanup_srcu_struct(&vm->srcu);
	return r ? r : -ENOMEM;
}

static int mkvm_vm_release(struct inode *inode, struct file *filp)
{
	mkvm_vm_put(filp->private_data);
	return 0;
}

static long mkvm_vm_set_memory_region(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_userspace_memory_region mem;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	return mkvm_set_memory_region(vm, &mem);
}

/*
 * The TSS and identity-map pages only matter to VMX without unrestricted
 * guest, which minikvm does not support; accepted as KVM accepts them.
 */
static long mkvm_vm_set_tss_addr(struct mkvm_vm *vm, unsigned long addr)
{
	if (addr > (unsigned int)(-3 * PAGE_SIZE))
		return -EINVAL;
	return 0;
}

static long mkvm_vm_set_identity_map_addr(struct mkvm_vm *vm, void __user *argp)
{
	u64 addr;

	if (copy_from_user(&addr, argp, sizeof(addr)))
		return -EFAULT;
	return atomic_read(&vm->nr_vcpus) ? -EINVAL : 0;
}

/*
 * KVM_SET_NR_MMU_PAGES sizes KVM's shadow page cache.  minikvm's nested
 * tables are allocated as faults need them (and charged to the memcg):
 * accepted, as KVM accepts it with nested paging, from KVM's minimum of
 * 64 pages up.
 */
static long mkvm_vm_set_nr_mmu_pages(struct mkvm_vm *vm, unsigned long n)
{
	return n < 64 ? -EINVAL : 0;
}

/*
 * KVM_ENABLE_CAP on a VM: KVM_CAP_MAX_VCPU_ID lowers the bound of vCPU
 * ids, once, before the first vCPU (which fixes it at the default).
 * KVM_CAP_DISABLE_QUIRKS(2) replace the set of disabled quirks at any
 * time; as KVM, QUIRKS2 refuses bits it does not report, QUIRKS takes
 * any (those minikvm does not honour change nothing).
 * KVM_CAP_X86_USER_SPACE_MSR sets which failed guest RDMSR/WRMSR go to
 * userspace (KVM_MSR_EXIT_REASON_*, msr.c), at any time.
 */
static long mkvm_vm_enable_cap(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_enable_cap cap;
	long r = -EINVAL;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_DISABLE_QUIRKS2:
		if (cap.args[0] & ~MKVM_QUIRKS)
			break;
		fallthrough;
	case KVM_CAP_DISABLE_QUIRKS:
		WRITE_ONCE(vm->disabled_quirks, cap.args[0]);
		r = 0;
		break;
	case KVM_CAP_MSR_PLATFORM_INFO:
		WRITE_ONCE(vm->platform_info_read, !!cap.args[0]);
		r = 0;
		break;
	case KVM_CAP_X86_USER_SPACE_MSR:
		if (cap.args[0] & ~(u64)MKVM_MSR_EXIT_REASONS)
			break;
		WRITE_ONCE(vm->user_space_msr, cap.args[0]);
		r = 0;
		break;
	case KVM_CAP_SPLIT_IRQCHIP:
		r = mkvm_irqchip_enable_split(vm, cap.args[0]);
		break;
	case KVM_CAP_MAX_VCPU_ID:
		if (cap.args[0] > MKVM_MAX_VCPU_ID)
			break;
		mutex_lock(&vm->lock);
		if (vm->max_vcpu_ids == cap.args[0]) {
			r = 0;
		} else if (!vm->max_vcpu_ids) {
			vm->max_vcpu_ids = cap.args[0];
			r = 0;
		}
		mutex_unlock(&vm->lock);
		break;
	}
	return r;
}

/*
 * KVM_SET_BOOT_CPU_ID: which vCPU id is the BSP (IA32_APIC_BASE.BSP,
 * runnable at creation with an irqchip); only before the first vCPU.
 */
static long mkvm_vm_set_boot_cpu_id(struct mkvm_vm *vm, unsigned long id)
{
	long r = 0;

	mutex_lock(&vm->lock);
	if (atomic_read(&vm->nr_vcpus))
		r = -EBUSY;
	else if (id >= MKVM_MAX_VCPU_ID ||
		 (vm->max_vcpu_ids && id >= vm->max_vcpu_ids))
		r = -EINVAL;
	else
		vm->bsp_id = id;
	mutex_unlock(&vm->lock);
	return r;
}

/* MINIKVM_SET_VM_NAME: printable ASCII, NUL-terminated, at most 63. */
static long mkvm_vm_set_name(struct mkvm_vm *vm, const char __user *uname)
{
	char name[MINIKVM_VM_NAME_MAX];
	long len, i;

	len = strncpy_from_user(name, uname, sizeof(name));
	if (len < 0)
		return len;
	if (len == sizeof(name))
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return -EINVAL;
	mutex_lock(&vm->lock);
	strscpy(vm->name, name, sizeof(vm->name));
	mutex_unlock(&vm->lock);
	return 0;
}

static long mkvm_vm_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	struct mkvm_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	/* A VM belongs to the address space that created it. */
	if (vm->mm != current->mm)
		return -EIO;

	if (ioctl == KVM_CHECK_EXTENSION)
		return mkvm_check_extension(vm, arg);
	if (ioctl == MINIKVM_SET_VM_NAME)
		return mkvm_vm_set_name(vm, argp);
	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return mkvm_create_vcpu(vm, arg);
	case KVM_SET_USER_MEMORY_REGION:
		return mkvm_vm_set_memory_region(vm, argp);
	case KVM_GET_DIRTY_LOG:
		return mkvm_get_dirty_log(vm, argp);
	case KVM_SET_TSS_ADDR:
		return mkvm_vm_set_tss_addr(vm, arg);
	case KVM_SET_IDENTITY_MAP_ADDR:
		return mkvm_vm_set_identity_map_addr(vm, argp);
	case KVM_SET_NR_MMU_PAGES:
		return mkvm_vm_set_nr_mmu_pages(vm, arg);
	case KVM_ENABLE_CAP:
		return mkvm_vm_enable_cap(vm, argp);
	case KVM_SET_BOOT_CPU_ID:
		return mkvm_vm_set_boot_cpu_id(vm, arg);
	case KVM_GET_STATS_FD:
		return mkvm_vm_stats_fd(vm);
	case KVM_GET_CLOCK:
		return mkvm_get_clock(vm, argp);
	case KVM_SET_CLOCK:
		return mkvm_set_clock(vm, argp);
	case KVM_IRQFD:
		return mkvm_irqfd(vm, argp);
	case KVM_IOEVENTFD:
		return mkvm_ioeventfd(vm, argp);
	case KVM_X86_SET_MSR_FILTER:
		return mkvm_set_msr_filter(vm, argp);
	default:
		return mkvm_irqchip_ioctl(vm, ioctl, argp);
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
	struct file *file;
	int r, fd;

	/* Only the default x86 VM type (KVM_X86_DEFAULT_VM == 0). */
	if (type)
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;

	r = mkvm_vm_init(vm);
	if (r)
		goto free_vm;

	r = ida_alloc_min(&mkvm_vm_ids, 1, GFP_KERNEL_ACCOUNT);
	if (r < 0)
		goto uninit;
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

	/*
	 * From here on the VM is torn down by mkvm_vm_put().  The fd is
	 * installed last: once it is, another thread may close() it and
	 * free the VM, so the creation event is sent before.
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		mkvm_vm_put(vm);
		return fd;
	}
	file = anon_inode_getfile("minikvm-vm", &mkvm_vm_fops, vm,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		mkvm_vm_put(vm);
		return PTR_ERR(file);
	}
	mkvm_netlink_event(vm, MINIKVM_EVENT_VM_CREATED, -1);
	fd_install(fd, file);
	return fd;

drop_mm:
	mmdrop(vm->mm);
	ida_free(&mkvm_vm_ids, vm->id);
uninit:
	mkvm_vm_uninit(vm);
free_vm:
	kfree(vm);
	return r;
}
