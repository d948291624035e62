// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_SUPPORTED_CPUID: the host's CPUID, reduced to what a minikvm
 * guest can use.  Userspace passes (a subset of) it to KVM_SET_CPUID2;
 * the guest's CPUID instruction (its exit, mkvm_handle_cpuid()) then
 * answers from that table, KVM_GET_CPUID2 reads it back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/processor.h>
#include <asm/msr-index.h>
#include <asm/fpu/xcr.h>

#include "minikvm.h"
#include "irqchip.h"

/* Leaf 1: features a guest may use. */
#define CPUID1_ECX_OK	(BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) |	\
			 BIT(19) | BIT(20) | BIT(22) | BIT(23) | BIT(25) |	\
			 BIT(26) | BIT(28) | BIT(29) | BIT(30))
#define CPUID1_ECX_HYPERVISOR	BIT(31)
#define CPUID1_EDX_OK	((GENMASK(19, 0) & ~BIT(10) & ~BIT(18)) |	\
			 BIT(23) | BIT(24) | BIT(25) | BIT(26))
/* Leaf 7.0 EBX: FSGSBASE, BMI1, AVX2, SMEP, BMI2, ERMS, ADX, SMAP, CLFLUSHOPT, SHA. */
#define CPUID7_EBX_OK	(BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(9) |	\
			 BIT(19) | BIT(20) | BIT(23) | BIT(29))
/* 0x80000001 ECX: LAHF, ABM, SSE4A, MISALIGNSSE, 3DNOWPREFETCH. */
#define CPUIDX1_ECX_OK	(BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8))
/* 0x80000001 EDX: SYSCALL, NX, MMXEXT, FXSR_OPT, PDPE1GB, LM + leaf-1 dups. */
#define CPUIDX1_EDX_OK	(BIT(11) | BIT(20) | BIT(22) | BIT(25) | BIT(26) |	\
			 BIT(29) | (CPUID1_EDX_OK & 0x0183f3ff))

/*
 * What the kernel made of a feature word: the CPU's bits less those it
 * turned off (a feature it found broken, clearcpuid=, ...).  A guest is
 * offered only those, as KVM does.
 */
static u32 mkvm_kernel_caps(enum cpuid_leafs word)
{
	return boot_cpu_data.x86_capability[word];
}

static void mkvm_cpuid(u32 fn, u32 idx, struct kvm_cpuid_entry2 *e)
{
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	cpuid_count(fn, idx, &e->eax, &e->ebx, &e->ecx, &e->edx);
}

/* Append @e to @out (@n entries so far, room for @max). */
static int mkvm_add_cpuid(struct kvm_cpuid_entry2 *out, int *n, int max,
			  const struct kvm_cpuid_entry2 *e)
{
	if (*n >= max)
		return -E2BIG;
	out[(*n)++] = *e;
	return 0;
}

/* Fills @out (up to @max); returns the number of entries or -E2BIG. */
static int mkvm_fill_cpuid(struct kvm_cpuid_entry2 *out, int max)
{
	u64 xcr0 = mkvm_get_host_xcr0() &
		   (XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM);
	u32 basic = min_t(u32, cpuid_eax(0), 0xd);
	u32 ext = min_t(u32, cpuid_eax(0x80000000), 0x80000008);
	struct kvm_cpuid_entry2 e;
	int n = 0;
	u32 fn, i;

	for (fn = 0; fn <= basic; fn++) {
		mkvm_cpuid(fn, 0, &e);
		switch (fn) {
		case 0:
			e.eax = basic;
			break;
		case 1:
			e.ecx = (e.ecx & CPUID1_ECX_OK &
				 mkvm_kernel_caps(CPUID_1_ECX)) |
				CPUID1_ECX_HYPERVISOR;
			if (!xcr0)
				e.ecx &= ~BIT(26);	/* XSAVE */
			if (!(xcr0 & XFEATURE_MASK_YMM))
				e.ecx &= ~BIT(28);	/* AVX */
			/* x2APIC: the in-kernel LAPIC has it, as KVM's. */
			e.ecx |= BIT(21);
			e.edx &= CPUID1_EDX_OK & mkvm_kernel_caps(CPUID_1_EDX);
			e.ebx &= 0x0000ffff;		/* no APIC id, count */
			break;
		case 7:
			e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
			e.eax = 0;
			e.ebx &= CPUID7_EBX_OK & mkvm_kernel_caps(CPUID_7_0_EBX);
			e.ebx |= BIT(1);	/* TSC_ADJUST: emulated, as KVM */
			if (!(xcr0 & XFEATURE_MASK_YMM))
				e.ebx &= ~BIT(5);	/* AVX2 */
			e.ecx = 0;
			e.edx = 0;
			break;
		case 0xd:
			if (!xcr0)
				continue;
			e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
			e.eax = xcr0;
			e.edx = 0;
			if (mkvm_add_cpuid(out, &n, max, &e))
				return -E2BIG;
			mkvm_cpuid(fn, 1, &e);
			e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
			e.eax &= BIT(0);		/* XSAVEOPT only */
			e.ebx = 0;
			e.ecx = 0;
			e.edx = 0;
			if (mkvm_add_cpuid(out, &n, max, &e))
				return -E2BIG;
			for (i = 2; i < 3; i++) {
				if (!(xcr0 & BIT(i)))
					continue;
				mkvm_cpuid(fn, i, &e);
				e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
				if (mkvm_add_cpuid(out, &n, max, &e))
					return -E2BIG;
			}
			continue;
		case 2: case 4: case 0xb:
			/* Topology and caches: left to userspace. */
			continue;
		case 3: case 5: case 6: case 8: case 9: case 0xa: case 0xc:
			/* Serial number, MONITOR, power, PMU: none. */
			continue;
		}
		if (mkvm_add_cpuid(out, &n, max, &e))
			return -E2BIG;
	}
	/*
	 * KVM's hypervisor leaves, as KVM offers them: the signature
	 * "KVMKVMKVM", and 0x40000001 with the paravirtual features that
	 * are implemented: kvmclock's MSRs, old and new (clock.c), and no
	 * need for delays after port I/O (nothing to implement); no PV
	 * EOI, no steal time, no async page faults, no stable-clock bit.
	 */
	e = (struct kvm_cpuid_entry2){ .function = KVM_CPUID_SIGNATURE,
				       .eax = KVM_CPUID_FEATURES,
				       .ebx = 0x4b4d564b, .ecx = 0x564b4d56,
				       .edx = 0x4d };
	if (mkvm_add_cpuid(out, &n, max, &e))
		return -E2BIG;
	e = (struct kvm_cpuid_entry2){
		.function = KVM_CPUID_FEATURES,
		.eax = BIT(KVM_FEATURE_CLOCKSOURCE) |
		       BIT(KVM_FEATURE_NOP_IO_DELAY) |
		       BIT(KVM_FEATURE_CLOCKSOURCE2),
	};
	if (mkvm_add_cpuid(out, &n, max, &e))
		return -E2BIG;
	for (fn = 0x80000000; fn <= ext; fn++) {
		mkvm_cpuid(fn, 0, &e);
		switch (fn) {
		case 0x80000000:
			e.eax = ext;
			break;
		case 0x80000001:
			/* No SVM, no RDTSCP. */
			e.ecx &= CPUIDX1_ECX_OK &
				 mkvm_kernel_caps(CPUID_8000_0001_ECX);
			e.edx &= CPUIDX1_EDX_OK &
				 mkvm_kernel_caps(CPUID_8000_0001_EDX);
			break;
		case 0x80000008:
			/*
			 * The physical address width no wider than a slot
			 * may reach (mkvm_mmu_gpa_bits()), the virtual one
			 * as it is; as KVM, no guest physical width (23:16).
			 */
			e.eax = min_t(u32, e.eax & 0xff, mkvm_mmu_gpa_bits()) |
				(e.eax & 0xff00);
			e.ebx = 0;
			e.ecx = 0;
			e.edx = 0;
			break;
		case 0x80000002: case 0x80000003: case 0x80000004:
			e.ecx = 0;
			e.edx = 0;
			break;
		default:
			continue;
		}
		if (mkvm_add_cpuid(out, &n, max, &e))
			return -E2BIG;
	}
	return n;
}

long mkvm_get_supported_cpuid(void __user *argp)
{
	struct kvm_cpuid2 __user *uc = argp;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 c;
	int n;
	long r;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent < 1)
		return -E2BIG;
	c.nent = min_t(u32, c.nent, MKVM_MAX_CPUID);
	e = vzalloc(array_size(c.nent, sizeof(*e)));
	if (!e)
		return -ENOMEM;
	n = mkvm_fill_cpuid(e, c.nent);
	r = n;
	if (n < 0)
		goto out;
	r = -EFAULT;
	if (copy_to_user(uc->entries, e, n * sizeof(*e)) ||
	    put_user(n, &uc->nent))
		goto out;
	r = 0;
out:
	vfree(e);
	return r;
}

struct kvm_cpuid_entry2 *mkvm_find_cpuid(struct mkvm_vcpu *vcpu, u32 function,
					 u32 index)
{
	u32 i;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		struct kvm_cpuid_entry2 *e = &vcpu->cpuid[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Whether the vCPU's CPUID has bit @bit of register @reg of leaf @fn.0. */
bool mkvm_cpuid_bit(struct mkvm_vcpu *vcpu, u32 fn,
		    enum cpuid_regs_idx reg, int bit)
{
	struct kvm_cpuid_entry2 *e = mkvm_find_cpuid(vcpu, fn, 0);
	u32 r[4];

	if (!e)
		return false;
	r[CPUID_EAX] = e->eax;
	r[CPUID_EBX] = e->ebx;
	r[CPUID_ECX] = e->ecx;
	r[CPUID_EDX] = e->edx;
	return r[reg] & BIT(bit);
}

bool mkvm_cpuid_has_long_mode(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_EDX, 29);
}

bool mkvm_cpuid_has_nx(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_EDX, 20);
}

bool mkvm_cpuid_has_rdtscp(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 0x80000001, CPUID_EDX, 27);
}

bool mkvm_cpuid_has_x2apic(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_bit(vcpu, 1, CPUID_ECX, 21);
}

/* TSC_AUX exists for the guest with RDTSCP or RDPID in its CPUID. */
bool mkvm_cpuid_has_tsc_aux(struct mkvm_vcpu *vcpu)
{
	return mkvm_cpuid_has_rdtscp(vcpu) ||
	       mkvm_cpuid_bit(vcpu, 7, CPUID_ECX, 22);
}

/*
 * KVM's PV features leaf, as KVM looks it up: base + 1 for the lowest
 * base (0x40000000, or a multiple of 0x100 above it, next to Hyper-V's
 * leaves) whose leaf holds the signature "KVMKVMKVM\0\0\0".
 */
static struct kvm_cpuid_entry2 *mkvm_find_pv_features(struct mkvm_vcpu *vcpu)
{
	u32 i, base = 0;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		struct kvm_cpuid_entry2 *e = &vcpu->cpuid[i];

		if (e->function < KVM_CPUID_SIGNATURE ||
		    e->function >= KVM_CPUID_SIGNATURE + 0x10000 ||
		    (e->function & 0xff) || (base && e->function >= base))
			continue;
		if (e->ebx == 0x4b4d564b && e->ecx == 0x564b4d56 &&
		    e->edx == 0x4d)
			base = e->function;
	}
	return base ? mkvm_find_cpuid(vcpu, base + 1, 0) : NULL;
}

/*
 * Whether the guest may use the KVM_FEATURE_* @feature: always, unless
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID holds it to its CPUID.
 */
bool mkvm_pv_has(struct mkvm_vcpu *vcpu, int feature)
{
	struct kvm_cpuid_entry2 *e;

	if (!vcpu->pv_enforce)
		return true;
	e = mkvm_find_pv_features(vcpu);
	return e && (e->eax & BIT(feature));
}

/*
 * With KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off, CPUID.1:ECX[3] (MWAIT)
 * follows IA32_MISC_ENABLE[18], as KVM updates it at KVM_SET_CPUID2 and
 * at each change of that bit.
 */
void mkvm_cpuid_update_mwait(struct mkvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e;

	if (mkvm_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT))
		return;
	e = mkvm_find_cpuid(vcpu, 1, 0);
	if (!e)
		return;
	e->ecx &= ~BIT(3);
	if (vcpu->misc_enable & MSR_IA32_MISC_ENABLE_MWAIT)
		e->ecx |= BIT(3);
}

int mkvm_handle_cpuid(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	u32 fn = vcpu->regs[0], idx = vcpu->regs[1];
	struct kvm_cpuid_entry2 *e = mkvm_find_cpuid(vcpu, fn, idx);
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;

	if (e) {
		eax = e->eax;
		ebx = e->ebx;
		ecx = e->ecx;
		edx = e->edx;
	}
	/* OSXSAVE mirrors the guest's CR4, as on hardware. */
	if (fn == 1) {
		ecx &= ~BIT(27);
		if (mkvm_call(get_cr4)(vcpu) & X86_CR4_OSXSAVE)
			ecx |= BIT(27);
	}
	vcpu->regs[0] = eax;
	vcpu->regs[3] = ebx;
	vcpu->regs[1] = ecx;
	vcpu->regs[2] = edx;
	mkvm_skip_insn(vcpu, exit);
	return 1;
}

int mkvm_set_cpuid2(struct mkvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid2 __user *uc = argp;
	struct kvm_cpuid_entry2 *e, *old;
	struct kvm_cpuid2 c;
	u32 old_nent;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent > MKVM_MAX_CPUID)
		return -E2BIG;
	e = vmemdup_user(uc->entries, array_size(c.nent, sizeof(*e)));
	if (IS_ERR(e))
		return PTR_ERR(e);
	old = vcpu->cpuid;
	old_nent = vcpu->cpuid_nent;
	vcpu->cpuid = e;
	vcpu->cpuid_nent = c.nent;
	mkvm_cpuid_update_mwait(vcpu);
	/*
	 * As KVM: the CPUID cannot change once the vCPU has run (compared
	 * after the runtime update, as KVM compares).
	 */
	if (vcpu->ran && (c.nent != old_nent ||
			  memcmp(e, old, c.nent * sizeof(*e)))) {
		vcpu->cpuid = old;
		vcpu->cpuid_nent = old_nent;
		kvfree(e);
		return -EINVAL;
	}
	kvfree(old);
	vcpu->cpuid_set = true;
	mkvm_lapic_after_set_cpuid(vcpu);
	return 0;
}

int mkvm_get_cpuid2(struct mkvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_cpuid2 __user *uc = argp;
	struct kvm_cpuid2 c;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent < vcpu->cpuid_nent)
		return -E2BIG;
	if (copy_to_user(uc->entries, vcpu->cpuid,
			 vcpu->cpuid_nent * sizeof(*vcpu->cpuid)))
		return -EFAULT;
	return put_user(vcpu->cpuid_nent, &uc->nent);
}
