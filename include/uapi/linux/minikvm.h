/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * minikvm's additions to the KVM userspace ABI.
 *
 * /dev/minikvm speaks the ioctls and structures of <linux/kvm.h> (API
 * version 12); this header holds only what KVM does not have: VM names
 * and the "minikvm" generic netlink family that exports per-VM resource
 * accounting.  See Documentation/api.rst and Documentation/netlink.rst.
 */
#ifndef _UAPI_LINUX_MINIKVM_H
#define _UAPI_LINUX_MINIKVM_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* The device node; KVM programs open it instead of /dev/kvm. */
#define MINIKVM_DEVICE_PATH	"/dev/minikvm"

/*
 * MINIKVM_SET_VM_NAME (VM ioctl): give the VM a name for vmctl.  The
 * argument points to a NUL-terminated string of at most
 * MINIKVM_VM_NAME_MAX bytes (the NUL included) of printable ASCII.
 */
#define MINIKVM_VM_NAME_MAX	64
#define MINIKVM_SET_VM_NAME	_IOW(0xAE, 0xf0, char[MINIKVM_VM_NAME_MAX])

/* ---- the generic netlink family ---------------------------------------- */

#define MINIKVM_GENL_NAME	"minikvm"
#define MINIKVM_GENL_VERSION	1
#define MINIKVM_GENL_MCGRP	"events"

enum minikvm_cmd {
	MINIKVM_CMD_UNSPEC,
	MINIKVM_CMD_GET_VM,	/* doit: one VM (MINIKVM_A_VM_ID); dumpit: all */
	MINIKVM_CMD_GET_VCPUS,	/* dumpit: the vCPUs of MINIKVM_A_VM_ID */
	MINIKVM_CMD_EVENT,	/* multicast on "events" */
	__MINIKVM_CMD_MAX,
};

#define MINIKVM_CMD_MAX (__MINIKVM_CMD_MAX - 1)

/* Events, in MINIKVM_A_EVENT. */
enum minikvm_event {
	MINIKVM_EVENT_UNSPEC,
	MINIKVM_EVENT_VM_CREATED,
	MINIKVM_EVENT_VM_DESTROYED,
	MINIKVM_EVENT_VCPU_SHUTDOWN,	/* triple fault */
	MINIKVM_EVENT_VCPU_FAIL_ENTRY,	/* the CPU refused the guest state */
};

/* VM states, in MINIKVM_A_VM_STATE. */
enum minikvm_vm_state {
	MINIKVM_VM_CREATED,	/* no vCPU has run yet */
	MINIKVM_VM_RUNNING,	/* a vCPU is in KVM_RUN */
	MINIKVM_VM_STOPPED,	/* has run; no vCPU in KVM_RUN now */
	MINIKVM_VM_SHUTDOWN,	/* a vCPU triple-faulted or failed entry */
};

/* Exit reasons counted per vCPU: the index in MINIKVM_A_VCPU_EXITS. */
enum minikvm_exit_stat {
	MINIKVM_STAT_IO,
	MINIKVM_STAT_MMIO,
	MINIKVM_STAT_NPF,		/* nested page faults that mapped a page */
	MINIKVM_STAT_HLT,
	MINIKVM_STAT_CPUID,
	MINIKVM_STAT_MSR,
	MINIKVM_STAT_INTR,		/* host interrupts, NMIs, SMIs */
	MINIKVM_STAT_IRQ_WINDOW,	/* interrupt and NMI windows */
	MINIKVM_STAT_XSETBV,
	MINIKVM_STAT_EXCEPTION,		/* #UD, #AC, #DB and the like */
	MINIKVM_STAT_SHUTDOWN,
	MINIKVM_STAT_FAIL_ENTRY,
	MINIKVM_STAT_OTHER,
	MINIKVM_STAT_WBINVD,		/* WBINVD and WBNOINVD */
	__MINIKVM_STAT_MAX,
};

#define MINIKVM_STAT_MAX (__MINIKVM_STAT_MAX - 1)

enum minikvm_attr {
	MINIKVM_A_UNSPEC,
	MINIKVM_A_PAD,
	MINIKVM_A_VERSION,		/* u32: MINIKVM_GENL_VERSION */
	MINIKVM_A_VM_ID,		/* u32 */
	MINIKVM_A_VM_NAME,		/* string */
	MINIKVM_A_VM_PID,		/* u32: the creator's tgid */
	MINIKVM_A_VM_UID,		/* u32: the creator's euid */
	MINIKVM_A_VM_CREATED_NS,	/* u64: CLOCK_BOOTTIME at creation */
	MINIKVM_A_VM_STATE,		/* u32: enum minikvm_vm_state */
	MINIKVM_A_VM_NR_VCPUS,		/* u32 */
	MINIKVM_A_VM_MEM_BYTES,		/* u64: configured in memory slots */
	MINIKVM_A_VM_RESIDENT_BYTES,	/* u64: guest pages mapped (pinned) */
	MINIKVM_A_VM_PT_BYTES,		/* u64: nested page-table pages */
	MINIKVM_A_VCPU,			/* nest: one vCPU (GET_VCPUS) */
	MINIKVM_A_VCPU_ID,		/* u32 */
	MINIKVM_A_EXITS_TOTAL,		/* u64: all exits (VM: summed) */
	MINIKVM_A_EXITS,		/* nest: u64 per enum minikvm_exit_stat */
	MINIKVM_A_USER_EXITS,		/* u64: KVM_RUN returns to userspace */
	MINIKVM_A_GUEST_NS,		/* u64: time in guest mode */
	MINIKVM_A_EXIT_NS,		/* u64: time handling exits in kernel */
	MINIKVM_A_INJECTIONS,		/* u64: interrupts injected */
	MINIKVM_A_EVENT,		/* u32: enum minikvm_event */
	/* With an in-kernel irqchip (KVM_CREATE_IRQCHIP): */
	MINIKVM_A_HALTS,		/* u64: HLTs handled in the kernel */
	MINIKVM_A_HALT_NS,		/* u64: asleep in HLT or for SIPI */
	MINIKVM_A_IRQ_TIMER,		/* u64: LAPIC timer interrupts received */
	MINIKVM_A_IRQ_IPI,		/* u64: IPIs received */
	MINIKVM_A_IRQ_LINE,		/* u64: from the IOAPIC and the PIC */
	MINIKVM_A_IRQ_MSI,		/* u64: MSIs received */
	__MINIKVM_A_MAX,
};

#define MINIKVM_A_MAX (__MINIKVM_A_MAX - 1)

#endif /* _UAPI_LINUX_MINIKVM_H */
