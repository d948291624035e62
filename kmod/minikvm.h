/* SPDX-License-Identifier: GPL-2.0 */
/*
 * minikvm internal header: the vendor-neutral core and the backend ops table.
 *
 * Lock legend for the structures below:
 *   [I]  immutable after creation
 *   [a]  atomic or refcount
 *   [g]  protected by mkvm_vms_lock (global VM list)
 */
#ifndef MINIKVM_H
#define MINIKVM_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/uidgid.h>
#include <linux/mm_types.h>

#include "compat.h"

/*
 * One const table per backend (svm.c, vmx.c).  At module load the core
 * asks each ->probe() in turn and keeps the first that answers.
 */
struct mkvm_backend_ops {
	const char *name;
	/*
	 * Returns 1 if this backend can run guests on this host, 0 if the CPU
	 * does not have its extension at all, or a negative errno with *why
	 * set to a one-line explanation if it has it but cannot use it.
	 */
	int (*probe)(const char **why);
	/* Global setup/teardown at module load/unload (e.g. per-CPU pages). */
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	/*
	 * Switch virtualization on/off on the calling CPU.  Called with
	 * interrupts disabled.  enable returns -EBUSY if another hypervisor
	 * already owns the CPU.
	 */
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
};

extern const struct mkvm_backend_ops mkvm_svm_ops;
extern const struct mkvm_backend_ops mkvm_vmx_ops;
extern const struct mkvm_backend_ops *mkvm_ops;

/* A virtual machine, one per KVM_CREATE_VM. */
struct mkvm_vm {
	refcount_t users;		/* [a] the VM fd; later vCPUs */
	struct mm_struct *mm;		/* [I] creator's mm (mmgrab'ed) */
	u32 id;				/* [I] unique, for vmctl */
	pid_t pid;			/* [I] creator's tgid */
	kuid_t uid;			/* [I] creator's euid */
	u64 created_ns;			/* [I] ktime_get_boottime_ns() */
	struct list_head node;		/* [g] on mkvm_vms */
};

/* hwvirt.c: virtualization is on for every online CPU while VMs exist. */
int mkvm_hwvirt_init(void);
void mkvm_hwvirt_exit(void);
int mkvm_hwvirt_get(void);
void mkvm_hwvirt_put(void);

/* vm.c */
int mkvm_create_vm(unsigned long type);
long mkvm_check_extension(struct mkvm_vm *vm, long cap);

#endif /* MINIKVM_H */
