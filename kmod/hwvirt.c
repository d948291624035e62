// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware virtualization (EFER.SVME or VMXON) is switched on for every
 * online CPU only while at least one VM exists.
 *
 * - The first VM switches every online CPU on (an IPI to each), the last
 *   one switches them off, both holding the CPU-hotplug read lock so that
 *   no CPU comes or goes meanwhile.
 * - A dynamic CPU-hotplug state, registered at module load without
 *   calls, switches a CPU coming online on while VMs exist, before it
 *   can run vCPU tasks (the ONLINE_DYN states run before the CPU becomes
 *   active), and one going offline off.
 * - A reboot switches every CPU off; crash/kexec and emergency restart
 *   reach us through the kernel's emergency virtualization callback.
 * - The kernel has one slot for that callback, which KVM also uses, so
 *   minikvm and KVM cannot both have virtualization on: creating a VM
 *   fails with -EBUSY while kvm.ko is loaded, and loading kvm.ko fails
 *   with -EBUSY while minikvm VMs exist.  The first VM takes the slot
 *   and keeps it after the last VM is gone (with every CPU off, the
 *   callback has nothing to do): giving it back waits for an RCU grace
 *   period, 12 ms and more, which made every VM's destruction that
 *   slow.  It is given back when kvm.ko loads and at module unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/reboot.h>
#include <linux/percpu.h>
#include <linux/mutex.h>
#include <asm/reboot.h>

#include "minikvm.h"

static DEFINE_MUTEX(mkvm_hwvirt_lock);
/* VMs alive: changed under the hotplug read lock and hwvirt_lock. */
static unsigned int mkvm_hwvirt_users;
static int mkvm_cpuhp_state;			/* from module load on */
static atomic_t mkvm_cpu_on_error;		/* the first CPU's, or 0 */
static bool mkvm_rebooting;			/* hwvirt_lock */
static bool mkvm_emergency_registered;		/* hwvirt_lock */
static DEFINE_PER_CPU(bool, mkvm_cpu_on);	/* this CPU is switched on */

/* Switch the calling CPU off; safe with IRQs off and from NMI context. */
static void mkvm_cpu_off(void)
{
	if (!__this_cpu_read(mkvm_cpu_on))
		return;
	mkvm_ops->cpu_disable();
	__this_cpu_write(mkvm_cpu_on, false);
}

/* Switch the calling CPU on (interrupts off); 0 or -errno, said. */
static int mkvm_cpu_on_here(void)
{
	int r = 0;

	if (!__this_cpu_read(mkvm_cpu_on)) {
		r = mkvm_ops->cpu_enable();
		if (!r)
			__this_cpu_write(mkvm_cpu_on, true);
	}
	if (r == -EBUSY)
		pr_err_ratelimited("CPU %d: %s is already in use by another hypervisor (kvm_amd/kvm_intel?)\n",
				   smp_processor_id(), mkvm_ops->name);
	else if (r)
		pr_err_ratelimited("CPU %d: cannot switch on %s: %d\n",
				   smp_processor_id(), mkvm_ops->name, r);
	return r;
}

static void mkvm_cpu_on_ipi(void *unused)
{
	int r = mkvm_cpu_on_here();

	if (r)
		atomic_cmpxchg(&mkvm_cpu_on_error, 0, r);
}

/* Switch off, and give the user-return MSRs back (not in NMI: not here). */
static void mkvm_cpu_off_ipi(void *unused)
{
	mkvm_cpu_off();
	mkvm_uret_drop();
}

/*
 * The hotplug callbacks run with the hotplug lock held by the CPU's
 * bring-up or tear-down, so mkvm_hwvirt_users cannot change meanwhile
 * (get and put hold its read side).
 */
static int mkvm_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int r;

	if (!READ_ONCE(mkvm_hwvirt_users))
		return 0;
	local_irq_save(flags);
	r = mkvm_cpu_on_here();
	local_irq_restore(flags);
	return r;
}

/* As by IPI: interrupts off, as the backends' cpu_disable wants. */
static int mkvm_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	mkvm_cpu_off_ipi(NULL);
	local_irq_restore(flags);
	return 0;
}

/* Called by the kernel on crash, kexec and emergency restart, in NMI. */
static void mkvm_emergency_disable(void)
{
	mkvm_cpu_off();
}

/* Is KVM's core module loaded?  kvm.ko exports kvm_rebooting. */
static bool mkvm_kvm_loaded(void)
{
	void *sym = __symbol_get("kvm_rebooting");

	if (!sym)
		return false;
	__symbol_put("kvm_rebooting");
	return true;
}

int mkvm_hwvirt_get(void)
{
	int r = 0;

	cpus_read_lock();
	mutex_lock(&mkvm_hwvirt_lock);
	if (mkvm_hwvirt_users) {
		mkvm_hwvirt_users++;
		goto out;
	}
	if (mkvm_rebooting) {
		r = -EBUSY;
		goto out;
	}
	if (mkvm_kvm_loaded()) {
		pr_err_ratelimited("KVM is loaded and may own %s: unload kvm_amd/kvm_intel and kvm to run minikvm VMs\n",
				   mkvm_ops->name);
		r = -EBUSY;
		goto out;
	}

	if (!mkvm_emergency_registered) {
		cpu_emergency_register_virt_callback(mkvm_emergency_disable);
		mkvm_emergency_registered = true;
	}
	atomic_set(&mkvm_cpu_on_error, 0);
	on_each_cpu(mkvm_cpu_on_ipi, NULL, 1);
	r = atomic_read(&mkvm_cpu_on_error);
	if (r) {
		on_each_cpu(mkvm_cpu_off_ipi, NULL, 1);
		goto out;
	}
	WRITE_ONCE(mkvm_hwvirt_users, 1);
out:
	mutex_unlock(&mkvm_hwvirt_lock);
	cpus_read_unlock();
	return r;
}

void mkvm_hwvirt_put(void)
{
	cpus_read_lock();
	mutex_lock(&mkvm_hwvirt_lock);
	WRITE_ONCE(mkvm_hwvirt_users, mkvm_hwvirt_users - 1);
	if (!mkvm_hwvirt_users)
		on_each_cpu(mkvm_cpu_off_ipi, NULL, 1);
	mutex_unlock(&mkvm_hwvirt_lock);
	cpus_read_unlock();
}

static int mkvm_reboot(struct notifier_block *nb, unsigned long code,
		       void *unused)
{
	/* Tasks are frozen or dying; switch off everywhere, VMs or not. */
	mutex_lock(&mkvm_hwvirt_lock);
	mkvm_rebooting = true;
	on_each_cpu(mkvm_cpu_off_ipi, NULL, 1);
	mutex_unlock(&mkvm_hwvirt_lock);
	return NOTIFY_OK;
}

static struct notifier_block mkvm_reboot_nb = {
	.notifier_call = mkvm_reboot,
	.priority = 0,
};

/* Give the emergency callback's slot back (hwvirt_lock, no VMs). */
static void mkvm_emergency_put(void)
{
	if (mkvm_emergency_registered) {
		cpu_emergency_unregister_virt_callback(mkvm_emergency_disable);
		mkvm_emergency_registered = false;
	}
}

/* While minikvm VMs exist, refuse kvm.ko: see the comment at the top. */
static int mkvm_module_notify(struct notifier_block *nb, unsigned long state,
			      void *data)
{
	struct module *mod = data;
	int r = 0;

	if (state != MODULE_STATE_COMING || strcmp(mod->name, "kvm"))
		return NOTIFY_DONE;

	mutex_lock(&mkvm_hwvirt_lock);
	if (mkvm_hwvirt_users) {
		pr_err("refusing to load kvm while minikvm VMs exist (both cannot own %s)\n",
		       mkvm_ops->name);
		r = -EBUSY;
	} else {
		mkvm_emergency_put();	/* KVM's to take */
	}
	mutex_unlock(&mkvm_hwvirt_lock);
	return notifier_from_errno(r);
}

static struct notifier_block mkvm_module_nb = {
	.notifier_call = mkvm_module_notify,
};

int mkvm_hwvirt_init(void)
{
	int r;

	r = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "minikvm:online",
				      mkvm_cpu_online, mkvm_cpu_offline);
	if (r < 0)
		return r;
	mkvm_cpuhp_state = r;
	r = register_reboot_notifier(&mkvm_reboot_nb);
	if (r)
		goto remove_state;
	r = register_module_notifier(&mkvm_module_nb);
	if (r)
		goto unregister_reboot;
	return 0;

unregister_reboot:
	unregister_reboot_notifier(&mkvm_reboot_nb);
remove_state:
	cpuhp_remove_state_nocalls(mkvm_cpuhp_state);
	return r;
}

void mkvm_hwvirt_exit(void)
{
	/*
	 * No VM can exist: each holds a module reference through its fd.
	 * The slot goes back while the notifier still guards kvm.ko, and
	 * no CPU keeps a notifier into this module.
	 */
	mutex_lock(&mkvm_hwvirt_lock);
	mkvm_emergency_put();
	mutex_unlock(&mkvm_hwvirt_lock);
	unregister_module_notifier(&mkvm_module_nb);
	unregister_reboot_notifier(&mkvm_reboot_nb);
	cpus_read_lock();
	on_each_cpu(mkvm_cpu_off_ipi, NULL, 1);
	cpus_read_unlock();
	cpuhp_remove_state_nocalls(mkvm_cpuhp_state);
}
