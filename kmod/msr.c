// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs: the emulated ones, RDMSR/WRMSR exits, KVM_GET/SET_MSRS, and
 * the MSR-like instructions RDTSCP and RDPMC.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/mtrr.h>
#include <asm/trapnr.h>
#include <asm/msr-index.h>

#include "minikvm.h"

/* The MSRs KVM_GET_MSR_INDEX_LIST reports: all we emulate. */
static const u32 mkvm_msrs[] = {
	MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_IA32_APICBASE, MSR_IA32_MISC_ENABLE,
	MSR_IA32_SPEC_CTRL, MSR_MTRRdefType, MSR_TSC_AUX, MSR_PLATFORM_INFO,
	MSR_IA32_TSC_ADJUST, MSR_IA32_POWER_CTL, MSR_IA32_MCG_STATUS,
	MSR_IA32_MCG_CTL, MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME,
	MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW,
};

/*
 * The feature MSRs (KVM_GET_MSR_FEATURE_INDEX_LIST, KVM_GET_MSRS on the
 * system fd): what a VMM may read before it builds a vCPU.  The
 * microcode revision is the host's; there are no PMU capabilities.
 */
static const u32 mkvm_feature_msrs[] = {
	MSR_IA32_UCODE_REV, MSR_IA32_PERF_CAPABILITIES,
};

static bool mkvm_is_mtrr_var(u32 index)
{
	return index >= MTRRphysBase_MSR(0) && index <= MTRRphysMask_MSR(7);
}

static int mkvm_mtrr_fixed_index(u32 index)
{
	switch (index) {
	case MSR_MTRRfix64K_00000:	return 0;
	case MSR_MTRRfix16K_80000:	return 1;
	case MSR_MTRRfix16K_A0000:	return 2;
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return 3 + index - MSR_MTRRfix4K_C0000;
	default:
		return -1;
	}
}

/* The x2APIC MSRs: the LAPIC's, never filtered. */
static bool mkvm_is_x2apic_msr(u32 index)
{
	return index >= 0x800 && index <= 0x8ff;
}

/*
 * mkvm_get_msr() and mkvm_set_msr() return 0; -ENOENT for an MSR that
 * minikvm does not have; or -EINVAL for one it has that refuses the
 * access (a value, a read-only MSR, a feature the guest lacks).  Either
 * is a #GP for the guest, unless userspace asked to see that reason
 * (KVM_CAP_X86_USER_SPACE_MSR: KVM_MSR_EXIT_REASON_UNKNOWN, _INVAL).
 */
/*
 * The guest may touch the kvmclock MSRs unless KVM_CAP_ENFORCE_PV_FEATURE_CPUID
 * holds it to a CPUID without their feature, as in KVM.
 */
static bool mkvm_kvmclock_msr_allowed(struct mkvm_vcpu *vcpu, u32 index)
{
	bool old = index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_SYSTEM_TIME;

	return mkvm_pv_has(vcpu, old ? KVM_FEATURE_CLOCKSOURCE :
				       KVM_FEATURE_CLOCKSOURCE2);
}

static int mkvm_get_msr(struct mkvm_vcpu *vcpu, u32 index, u64 *data,
			bool host)
{
	int r = mkvm_call(get_msr)(vcpu, index, data);
	int fixed;

	if (r != -ENOENT)
		return r;
	fixed = mkvm_mtrr_fixed_index(index);
	if (fixed >= 0) {
		*data = vcpu->mtrr_fixed[fixed];
		return 0;
	}
	if (mkvm_is_mtrr_var(index)) {
		*data = vcpu->mtrr_var[index - MTRRphysBase_MSR(0)];
		return 0;
	}
	if (vcpu->apic && (index == MSR_IA32_TSC_DEADLINE ||
			   mkvm_is_x2apic_msr(index)))
		return mkvm_lapic_rdmsr(vcpu, index, data) ? -EINVAL : 0;
	/* Without an in-kernel LAPIC, as KVM: known, and refused. */
	if (mkvm_is_x2apic_msr(index))
		return -EINVAL;
	switch (index) {
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		return 0;
	case MSR_IA32_POWER_CTL:
		*data = vcpu->power_ctl;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*data = vcpu->tsc_adjust;
		return 0;
	case MSR_PLATFORM_INFO:
		/* As KVM: the guest reads it while KVM_CAP_MSR_PLATFORM_INFO is on. */
		if (!host && !READ_ONCE(vcpu->vm->platform_info_read))
			return -EINVAL;
		*data = vcpu->platform_info;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->misc_enable;
		return 0;
	case MSR_IA32_SPEC_CTRL:
		*data = vcpu->spec_ctrl;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !mkvm_cpuid_has_tsc_aux(vcpu))
			return -EINVAL;
		*data = vcpu->tsc_aux;
		return 0;
	case MSR_MTRRcap:
		*data = 0x500 | 8;	/* fixed ranges, WC, 8 variable */
		return 0;
	case MSR_MTRRdefType:
		*data = vcpu->mtrr_def_type;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		if (!host && !mkvm_kvmclock_msr_allowed(vcpu, index))
			return -EINVAL;
		*data = READ_ONCE(vcpu->vm->wall_clock_msr);
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		if (!host && !mkvm_kvmclock_msr_allowed(vcpu, index))
			return -EINVAL;
		*data = vcpu->kvmclock_msr;
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_K7_HWCR:
		*data = 0;
		return 0;
	default:
		return mkvm_mce_get_msr(vcpu, index, data, host);
	}
}

/* Each byte of the PAT is a memory type: 0, 1, 4, 5, 6 or 7. */
static bool mkvm_valid_pat(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

/* Sign-extended from bit 47 (no LA57 for guests). */
static bool mkvm_canonical(u64 a)
{
	return ((s64)a << 16 >> 16) == (s64)a;
}

static int mkvm_set_msr(struct mkvm_vcpu *vcpu, u32 index, u64 data,
			bool host)
{
	u64 tsc;
	int fixed, r;

	switch (index) {
	case MSR_EFER:
		/* Long mode and NX only as far as the guest's CPUID has them. */
		if (data & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
			return -EINVAL;
		if ((data & EFER_LME) && !mkvm_cpuid_has_long_mode(vcpu))
			return -EINVAL;
		if ((data & EFER_NX) && !mkvm_cpuid_has_nx(vcpu))
			return -EINVAL;
		/* The guest cannot toggle LME with paging on. */
		if (!host && (mkvm_call(get_cr0)(vcpu) & X86_CR0_PG) &&
		    ((data ^ mkvm_call(get_efer)(vcpu)) & EFER_LME))
			return -EINVAL;
		break;
	case MSR_IA32_CR_PAT:
		if (!mkvm_valid_pat(data))
			return -EINVAL;
		break;
	case MSR_SYSCALL_MASK:
		/*
		 * Bits 63:32 are reserved: Intel CPUs refuse them, and VMX
		 * writes this MSR into the CPU around every run.
		 */
		if (data >> 32)
			return -EINVAL;
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!mkvm_canonical(data))
			return -EINVAL;
		break;
	case MSR_IA32_APICBASE:
		if (!vcpu->apic) {
			vcpu->apic_base = data;
			return 0;
		}
		return mkvm_lapic_set_base(vcpu, data, host) ? -EINVAL : 0;
	case MSR_IA32_MISC_ENABLE:
		/*
		 * As KVM: with KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off, bit
		 * 18 (ENABLE_MWAIT) changes only if the guest's CPUID has
		 * SSE3, and CPUID.1:ECX[3] (MWAIT) follows it.
		 */
		if (!mkvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) &&
		    ((data ^ vcpu->misc_enable) & MSR_IA32_MISC_ENABLE_MWAIT)) {
			if (!mkvm_cpuid_bit(vcpu, 1, CPUID_ECX, 0))
				return -EINVAL;
			vcpu->misc_enable = data;
			mkvm_cpuid_update_mwait(vcpu);
			return 0;
		}
		vcpu->misc_enable = data;
		return 0;
	case MSR_IA32_SPEC_CTRL:
		/* Kept, not applied: the host's mitigations stay in force. */
		vcpu->spec_ctrl = data;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !mkvm_cpuid_has_tsc_aux(vcpu))
			return -EINVAL;
		vcpu->tsc_aux = (u32)data;	/* AMD ignores bits 63:32 */
		return 0;
	case MSR_IA32_PRED_CMD:
		if (data & ~PRED_CMD_IBPB)
			return -EINVAL;
		if (data && boot_cpu_has(X86_FEATURE_IBPB))
			mkvm_wrmsrl(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
		return 0;
	case MSR_MTRRdefType:
		vcpu->mtrr_def_type = data;
		return 0;
	case MSR_IA32_TSC:
		/* The guest moving its TSC moves TSC_ADJUST with it (SDM). */
		if (!host && !mkvm_call(get_msr)(vcpu, MSR_IA32_TSC, &tsc))
			vcpu->tsc_adjust += data - tsc;
		mkvm_make_request(vcpu, MKVM_REQ_CLOCK_UPDATE);
		break;
	case MSR_IA32_TSC_ADJUST:
		/*
		 * As KVM: only with TSC_ADJUST in the guest's CPUID, else
		 * ignored; the guest's write moves the TSC by the change,
		 * userspace's (restoring state) does not.
		 */
		if (!mkvm_cpuid_bit(vcpu, 7, CPUID_EBX, 1))
			return 0;
		if (!host && !mkvm_call(get_msr)(vcpu, MSR_IA32_TSC, &tsc))
			mkvm_call(set_msr)(vcpu, MSR_IA32_TSC,
					   tsc + data - vcpu->tsc_adjust);
		vcpu->tsc_adjust = data;
		mkvm_make_request(vcpu, MKVM_REQ_CLOCK_UPDATE);
		return 0;
	case MSR_PLATFORM_INFO:
		/* Read-only for the guest; userspace sets what it reads. */
		if (!host)
			return -EINVAL;
		vcpu->platform_info = data;
		return 0;
	case MSR_IA32_POWER_CTL:
		/* As KVM: kept and read back, never applied. */
		vcpu->power_ctl = data;
		return 0;
	case MSR_IA32_UCODE_REV:
		if (host || !data)
			return 0;
		return -EINVAL;
	case MSR_MTRRcap:
	case MSR_K7_HWCR:
		/* Known (they read), but not written. */
		return -EINVAL;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		/* Any address, as KVM: one that is not memory is not written. */
		if (!host && !mkvm_kvmclock_msr_allowed(vcpu, index))
			return -EINVAL;
		WRITE_ONCE(vcpu->vm->wall_clock_msr, data);
		mkvm_kvmclock_write_wall(vcpu, data);
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		/* Bit 0 turns it on; the page is written before the entry. */
		if (!host && !mkvm_kvmclock_msr_allowed(vcpu, index))
			return -EINVAL;
		vcpu->kvmclock_msr = data;
		mkvm_make_request(vcpu, MKVM_REQ_CLOCK_UPDATE);
		return 0;
	}
	r = mkvm_mce_set_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	if (vcpu->apic && (index == MSR_IA32_TSC_DEADLINE ||
			   mkvm_is_x2apic_msr(index)))
		return mkvm_lapic_wrmsr(vcpu, index, data) ? -EINVAL : 0;
	if (mkvm_is_x2apic_msr(index))
		return -EINVAL;
	fixed = mkvm_mtrr_fixed_index(index);
	if (fixed >= 0) {
		vcpu->mtrr_fixed[fixed] = data;
		return 0;
	}
	if (mkvm_is_mtrr_var(index)) {
		vcpu->mtrr_var[index - MTRRphysBase_MSR(0)] = data;
		return 0;
	}
	return mkvm_call(set_msr)(vcpu, index, data) ? -ENOENT : 0;
}

/*
 * The MSR filter (KVM_X86_SET_MSR_FILTER): up to 16 ranges, each with
 * the accesses it decides (KVM_MSR_FILTER_READ, _WRITE) and a bitmap, a
 * set bit allowing the access; the first range that holds the index and
 * the access decides, and default_allow where none does.  Immutable once
 * published: a new filter replaces it.
 */
struct mkvm_msr_filter {
	bool default_allow;
	u32 count;
	struct {
		u32 flags;
		u32 base;
		u32 nmsrs;
		unsigned long *bitmap;
	} ranges[KVM_MSR_FILTER_MAX_RANGES];
};

/*
 * Whether the filter lets the guest make the access @type
 * (KVM_MSR_FILTER_READ or _WRITE) to MSR @index; the x2APIC MSRs are
 * never filtered.  As KVM, a range that wraps past 0xffffffff matches
 * nothing.  Any context (RCU).
 */
/* Whether filter @f (NULL: none) lets the guest access @index. */
static bool mkvm_filter_allows(const struct mkvm_msr_filter *f, u32 index,
			       u32 type)
{
	u32 i;

	if (!f || mkvm_is_x2apic_msr(index))
		return true;
	for (i = 0; i < f->count; i++) {
		u32 base = f->ranges[i].base;
		u32 end = base + f->ranges[i].nmsrs;

		if (index >= base && index < end &&
		    (f->ranges[i].flags & type))
			return test_bit(index - base, f->ranges[i].bitmap);
	}
	return f->default_allow;
}

bool mkvm_msr_allowed(struct mkvm_vcpu *vcpu, u32 index, u32 type)
{
	bool allowed;

	rcu_read_lock();
	allowed = mkvm_filter_allows(rcu_dereference(vcpu->vm->msr_filter),
				     index, type);
	rcu_read_unlock();
	return allowed;
}

/* Whether @f makes any MKVM_PASSTHROUGH_MSRS access exit. */
static bool mkvm_filter_denies_passthrough(const struct mkvm_msr_filter *f)
{
	static const u32 pass[] = MKVM_PASSTHROUGH_MSRS;
	int i;

	for (i = 0; i < ARRAY_SIZE(pass); i++)
		if (!mkvm_filter_allows(f, pass[i], KVM_MSR_FILTER_READ) ||
		    !mkvm_filter_allows(f, pass[i], KVM_MSR_FILTER_WRITE))
			return true;
	return false;
}

/*
 * A vCPU starts on the backend's shared MSR permission map, where every
 * MKVM_PASSTHROUGH_MSRS access passes; it needs a map of its own (8 KiB
 * on SVM, 4 KiB on VMX) only once its VM's filter denies one of them.
 * Called under vm->lock, before @f is installed or the vCPU published,
 * where the allocation may sleep and fail: the backend then switches to
 * that map when its intercepts next change, before an entry.
 */
int mkvm_msr_map_for_filter(struct mkvm_vcpu *vcpu,
			    const struct mkvm_msr_filter *f)
{
	lockdep_assert_held(&vcpu->vm->lock);
	if (!mkvm_filter_denies_passthrough(f))
		return 0;
	return mkvm_ops->own_msr_map(vcpu);
}

static void mkvm_msr_filter_free(struct mkvm_msr_filter *f)
{
	u32 i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/* Copy one range in, as KVM checks it; one with nmsrs 0 is ignored. */
static int mkvm_msr_filter_add(struct mkvm_msr_filter *f,
			       const struct kvm_msr_filter_range *r)
{
	unsigned long *bitmap;
	size_t size;

	if (!r->nmsrs)
		return 0;
	if (r->flags & ~(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE))
		return -EINVAL;
	if (!r->flags)
		return -EINVAL;
	size = BITS_TO_LONGS(r->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = kmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		return -ENOMEM;
	if (copy_from_user(bitmap, (const void __user *)r->bitmap, size)) {
		kfree(bitmap);
		return -EFAULT;
	}
	f->ranges[f->count].flags = r->flags;
	f->ranges[f->count].base = r->base;
	f->ranges[f->count].nmsrs = r->nmsrs;
	f->ranges[f->count].bitmap = bitmap;
	f->count++;
	return 0;
}

/*
 * MKVM_REQ_MSR_FILTER, before an entry: the passthrough MSRs (which the
 * guest reads and writes without an exit) exit where the filter denies
 * them, and pass through again where a later filter allows them.
 */
void mkvm_update_msr_intercepts(struct mkvm_vcpu *vcpu)
{
	static const u32 pass[] = MKVM_PASSTHROUGH_MSRS;
	int i;

	for (i = 0; i < ARRAY_SIZE(pass); i++)
		mkvm_ops->set_msr_intercept(vcpu, pass[i],
			!mkvm_msr_allowed(vcpu, pass[i], KVM_MSR_FILTER_READ),
			!mkvm_msr_allowed(vcpu, pass[i], KVM_MSR_FILTER_WRITE));
}

/*
 * KVM_X86_SET_MSR_FILTER: replace the VM's filter.  A filter without
 * ranges allows all (unless it denies by default: -EINVAL, as KVM).
 * Once the old one is unreachable it is freed, and each vCPU recomputes
 * its intercepts before it next enters the guest.
 */
long mkvm_set_msr_filter(struct mkvm_vm *vm, void __user *argp)
{
	struct mkvm_msr_filter *f, *old;
	struct kvm_msr_filter uf;
	bool empty = true;
	int i, r;

	if (copy_from_user(&uf, argp, sizeof(uf)))
		return -EFAULT;
	if (uf.flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return -EINVAL;
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		empty &= !uf.ranges[i].nmsrs;
	if (empty && (uf.flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return -EINVAL;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->default_allow = !(uf.flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		r = mkvm_msr_filter_add(f, &uf.ranges[i]);
		if (r) {
			mkvm_msr_filter_free(f);
			return r;
		}
	}

	/* Under vm->lock, a vCPU created meanwhile sees the new filter. */
	mutex_lock(&vm->lock);
	for (i = 0; i < atomic_read(&vm->nr_vcpus); i++) {
		r = mkvm_msr_map_for_filter(vm->vcpus[i], f);
		if (r) {
			mutex_unlock(&vm->lock);
			mkvm_msr_filter_free(f);
			return r;
		}
	}
	old = rcu_replace_pointer(vm->msr_filter, f,
				  lockdep_is_held(&vm->lock));
	synchronize_rcu();
	mkvm_msr_filter_free(old);
	mkvm_kick_all(vm, MKVM_REQ_MSR_FILTER);
	mutex_unlock(&vm->lock);
	return 0;
}

/* With the VM: no vCPU runs any more. */
void mkvm_free_msr_filter(struct mkvm_vm *vm)
{
	mkvm_msr_filter_free(rcu_dereference_protected(vm->msr_filter, 1));
	RCU_INIT_POINTER(vm->msr_filter, NULL);
}

/* The KVM_MSR_EXIT_REASON_* of a failed guest access. */
static u32 mkvm_msr_exit_reason(int r)
{
	switch (r) {
	case -ENOENT:
		return KVM_MSR_EXIT_REASON_UNKNOWN;
	case -EPERM:
		return KVM_MSR_EXIT_REASON_FILTER;
	default:
		return KVM_MSR_EXIT_REASON_INVAL;
	}
}

/*
 * A guest RDMSR/WRMSR that failed with @r (-EPERM: the filter denied
 * it): a #GP, or, if userspace asked for its reason, an exit to
 * userspace (@exit_reason KVM_EXIT_X86_RDMSR or _WRMSR) that the next
 * KVM_RUN completes (mkvm_complete_msr()).  RIP stays on the
 * instruction meanwhile, as in KVM.
 */
static int mkvm_msr_failed(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit,
			   u32 exit_reason, u32 index, u64 data, int r)
{
	u32 reason = mkvm_msr_exit_reason(r);
	struct kvm_run *run = vcpu->run;
	u64 rip = vcpu->rip;

	if (!(READ_ONCE(vcpu->vm->user_space_msr) & reason)) {
		mkvm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	mkvm_skip_insn(vcpu, exit);
	vcpu->msr_next_rip = vcpu->rip;
	vcpu->rip = rip;
	vcpu->pending = exit_reason == KVM_EXIT_X86_RDMSR ?
			MKVM_PENDING_RDMSR : MKVM_PENDING_WRMSR;
	run->exit_reason = exit_reason;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = data;
	return 0;
}

/*
 * The next KVM_RUN after a KVM_EXIT_X86_RDMSR/WRMSR: run->msr.error set
 * by userspace is a #GP; else a read loads run->msr.data into EDX:EAX,
 * and the instruction is done.
 */
void mkvm_complete_msr(struct mkvm_vcpu *vcpu, bool read)
{
	struct kvm_run *run = vcpu->run;

	if (run->msr.error) {
		mkvm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return;
	}
	if (read) {
		vcpu->regs[0] = (u32)run->msr.data;
		vcpu->regs[2] = run->msr.data >> 32;
	}
	vcpu->rip = vcpu->msr_next_rip;
}

int mkvm_handle_rdmsr(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u32 index = vcpu->regs[1];
	int r = -EPERM;
	u64 data;

	if (mkvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_READ))
		r = mkvm_get_msr(vcpu, index, &data, false);
	if (r)
		return mkvm_msr_failed(vcpu, exit, KVM_EXIT_X86_RDMSR, index,
				       0, r);
	vcpu->regs[0] = (u32)data;
	vcpu->regs[2] = data >> 32;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

int mkvm_handle_wrmsr(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 data = (u32)vcpu->regs[0] | (vcpu->regs[2] << 32);
	u32 index = vcpu->regs[1];
	int r = -EPERM;

	if (mkvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_WRITE))
		r = mkvm_set_msr(vcpu, index, data, false);
	if (r)
		return mkvm_msr_failed(vcpu, exit, KVM_EXIT_X86_WRMSR, index,
				       data, r);
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

#define MKVM_MAX_IO_MSRS	256

/* A feature MSR: the host's microcode revision, no PMU capabilities. */
static int mkvm_get_feature_msr(u32 index, u64 *data)
{
	switch (index) {
	case MSR_IA32_UCODE_REV:
		if (rdmsrl_safe(MSR_IA32_UCODE_REV, data))
			*data = 0;
		return 0;
	case MSR_IA32_PERF_CAPABILITIES:
		*data = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * One entry of KVM_GET_MSRS / KVM_SET_MSRS: @vcpu's MSR, or with no vCPU
 * (the system fd) a feature MSR, which can only be read.
 */
static int mkvm_msr_entry(struct mkvm_vcpu *vcpu, struct kvm_msr_entry *e,
			  bool set)
{
	if (!vcpu)
		return set ? -EINVAL : mkvm_get_feature_msr(e->index, &e->data);
	if (set)
		return mkvm_set_msr(vcpu, e->index, e->data, true);
	return mkvm_get_msr(vcpu, e->index, &e->data, true);
}

/* KVM_GET_MSRS / KVM_SET_MSRS: stop at the first failure, return count. */
static int mkvm_msrs_copy(struct mkvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_msrs __user *um = argp;
	struct kvm_msr_entry e;
	struct kvm_msrs m;
	u32 i;

	if (copy_from_user(&m, um, sizeof(m)))
		return -EFAULT;
	if (m.nmsrs >= MKVM_MAX_IO_MSRS)
		return -E2BIG;
	for (i = 0; i < m.nmsrs; i++) {
		if (copy_from_user(&e, &um->entries[i], sizeof(e)))
			return -EFAULT;
		if (mkvm_msr_entry(vcpu, &e, set))
			break;
		if (!set &&
		    copy_to_user(&um->entries[i].data, &e.data, sizeof(e.data)))
			return -EFAULT;
	}
	return i;
}

/* On a vCPU fd. */
int mkvm_msrs_ioctl(struct mkvm_vcpu *vcpu, void __user *argp, bool set)
{
	return mkvm_msrs_copy(vcpu, argp, set);
}

/* KVM's protocol: the count always, the list if it fits, else -E2BIG. */
static long mkvm_put_msr_list(void __user *argp, const u32 *msrs, u32 n)
{
	struct kvm_msr_list __user *ul = argp;
	struct kvm_msr_list l;

	if (copy_from_user(&l, ul, sizeof(l)))
		return -EFAULT;
	if (put_user(n, &ul->nmsrs))
		return -EFAULT;
	if (l.nmsrs < n)
		return -E2BIG;
	if (copy_to_user(ul->indices, msrs, n * sizeof(*msrs)))
		return -EFAULT;
	return 0;
}

long mkvm_get_msr_index_list(void __user *argp)
{
	return mkvm_put_msr_list(argp, mkvm_msrs, ARRAY_SIZE(mkvm_msrs));
}

long mkvm_get_msr_feature_index_list(void __user *argp)
{
	return mkvm_put_msr_list(argp, mkvm_feature_msrs,
				 ARRAY_SIZE(mkvm_feature_msrs));
}

/* KVM_GET_MSRS on the system fd: feature MSRs; returns how many read. */
long mkvm_get_feature_msrs(void __user *argp)
{
	return mkvm_msrs_copy(NULL, argp, false);
}

/*
 * KVM_HAS/GET/SET_DEVICE_ATTR on a vCPU, as KVM: the one attribute is
 * KVM_VCPU_TSC_OFFSET of group KVM_VCPU_TSC_CTRL, a u64 at attr.addr;
 * the guest's TSC is the host's plus it (no scaling).  Setting it moves
 * the TSC without a change of IA32_TSC_ADJUST, as a migration does.
 */
int mkvm_tsc_attr_ioctl(struct mkvm_vcpu *vcpu, unsigned int ioctl,
			void __user *argp)
{
	struct kvm_device_attr attr;
	u64 __user *uaddr;
	u64 offset;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	uaddr = u64_to_user_ptr(attr.addr);
	switch (ioctl) {
	case KVM_GET_DEVICE_ATTR:
		return put_user(mkvm_ops->get_tsc_offset(vcpu), uaddr);
	case KVM_SET_DEVICE_ATTR:
		if (get_user(offset, uaddr))
			return -EFAULT;
		mkvm_ops->set_tsc_offset(vcpu, offset);
		mkvm_make_request(vcpu, MKVM_REQ_CLOCK_UPDATE);
		return 0;
	default:			/* KVM_HAS_DEVICE_ATTR */
		return 0;
	}
}

/*
 * TSC_AUX, which RDPID reads without any intercept (RDTSCP is
 * intercepted): the guest's while it runs, so that it never sees the
 * host's CPU and node number; a user-return MSR (uret.c), so the host's
 * comes back when the CPU returns to userspace.  Preemption off.
 */
void mkvm_load_guest_tsc_aux(struct mkvm_vcpu *vcpu)
{
	if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID))
		mkvm_uret_set(MKVM_URET_TSC_AUX, vcpu->tsc_aux);
}

/*
 * RDTSCP, intercepted: #UD unless the guest's CPUID has it (ours never
 * offers it), else the guest's TSC and its TSC_AUX.
 */
int mkvm_handle_rdtscp(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u64 tsc;

	if (!mkvm_cpuid_has_rdtscp(vcpu) ||
	    mkvm_call(get_msr)(vcpu, MSR_IA32_TSC, &tsc)) {
		mkvm_queue_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	}
	vcpu->regs[0] = (u32)tsc;
	vcpu->regs[2] = tsc >> 32;
	vcpu->regs[1] = vcpu->tsc_aux;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

/*
 * RDPMC, always intercepted: the counters of the CPU are the host's (its
 * NMI watchdog, perf events of every task), so no guest may read them.
 * minikvm has no virtual PMU, and answers as KVM does without one.  An
 * AMD CPU has four legacy counters that no CPUID bit announces (six with
 * PERFCTR_CORE); KVM emulates them, never programmed, so they read 0.
 * Intel counters exist only through CPUID leaf 0xA, which minikvm does
 * not offer: #GP, as KVM with its PMU version 0.  Bits 31:30 of ECX (the
 * "fast" read, Intel's fixed counters) are ignored on AMD, as KVM does.
 * Outside CPL 0 in protected mode RDPMC needs CR4.PCE: #GP without it
 * (the CPU checks that before the intercept; the check here keeps the
 * rule whatever the hardware does).
 */
int mkvm_handle_rdpmc(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u32 idx = (u32)vcpu->regs[1] & ~(3U << 30);
	u32 counters = 0;

	if (boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_HYGON)
		counters = mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_ECX, 23) ? 6 : 4;
	if (idx >= counters ||
	    (mkvm_vcpu_cpl(vcpu) && !(mkvm_call(get_cr4)(vcpu) & X86_CR4_PCE))) {
		mkvm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->regs[0] = 0;
	vcpu->regs[2] = 0;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}
