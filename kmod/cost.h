/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cost counts: how many privileged operations (VMREAD, VMWRITE, RDMSR,
 * WRMSR, VMCS switches, VMLOAD/VMSAVE, TLB flushes, clock reads, XSETBV,
 * and the VMCB state groups a VMRUN must reload)
 * the module executes for a vCPU while it is in KVM_RUN.  Emulated CPUs
 * do not charge these as real ones do, so `make bench` reports the counts
 * per exit beside the times (Documentation/performance.rst).
 *
 * Built in only with `make MKVM_COSTS=1` (Kbuild defines MKVM_COSTS);
 * otherwise every mkvm_cost() is empty and nothing is counted or stored.
 * The counting vCPU is the one loaded on this CPU, from vcpu_load to
 * vcpu_put in run.c, so operations outside KVM_RUN (other ioctls, module
 * set-up) are not counted.  The counters appear in the vCPU's statistics
 * (KVM_GET_STATS_FD) as cost_*.
 */
#ifndef MKVM_COST_H
#define MKVM_COST_H

#include <linux/percpu.h>
#include <linux/types.h>
#include <asm/msr.h>

enum mkvm_cost {
	MKVM_COST_VMREAD,
	MKVM_COST_VMWRITE,
	MKVM_COST_RDMSR,
	MKVM_COST_WRMSR,
	MKVM_COST_VMCS_SWITCH,		/* VMCLEAR, VMPTRLD */
	MKVM_COST_VMLOAD_VMSAVE,
	MKVM_COST_TLB_FLUSH,		/* INVEPT, INVVPID, SVM TLB_CONTROL */
	MKVM_COST_CLOCK,		/* local_clock(), ktime_get*(), RDTSC */
	MKVM_COST_XSETBV,
	MKVM_COST_VMCB_DIRTY,		/* VMCB groups reloaded (svm_clean.h) */
	MKVM_COST_NR
};

#ifdef MKVM_COSTS
DECLARE_PER_CPU(u64 *, mkvm_cost_counters);

/* Count @n operations of kind @c for the vCPU loaded here, if any. */
static inline void mkvm_cost_n(enum mkvm_cost c, unsigned int n)
{
	u64 *counters = this_cpu_read(mkvm_cost_counters);

	if (counters)
		counters[c] += n;
}

static inline void mkvm_cost_attach(u64 *counters)
{
	this_cpu_write(mkvm_cost_counters, counters);
}
#else
static inline void mkvm_cost_n(enum mkvm_cost c, unsigned int n)
{
}

static inline void mkvm_cost_attach(u64 *counters)
{
}
#endif

static inline void mkvm_cost(enum mkvm_cost c)
{
	mkvm_cost_n(c, 1);
}

/* The MSR accesses of the run path, counted. */
#define mkvm_rdmsrl(msr, val) \
	do { mkvm_cost(MKVM_COST_RDMSR); rdmsrl(msr, val); } while (0)
#define mkvm_wrmsrl(msr, val) \
	do { mkvm_cost(MKVM_COST_WRMSR); wrmsrl(msr, val); } while (0)
#define mkvm_native_wrmsrl(msr, val) \
	do { mkvm_cost(MKVM_COST_WRMSR); native_wrmsrl(msr, val); } while (0)
#define mkvm_xsetbv(index, val) \
	do { mkvm_cost(MKVM_COST_XSETBV); xsetbv(index, val); } while (0)

#endif /* MKVM_COST_H */
