// SPDX-License-Identifier: GPL-2.0
/*
 * Debug registers: the guest's MOV DR exits, its DR0-3 loaded around
 * runs that need them, KVM_GET/SET_DEBUGREGS.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "minikvm.h"

#define MKVM_DR6_BD		BIT(13)
#define MKVM_DR6_VOLATILE	(DR_TRAP_BITS | MKVM_DR6_BD | DR_STEP | DR_SWITCH)
#define MKVM_DR7_VOLATILE	0xffff2bffULL

/*
 * MOV to or from DR0-DR7, always intercepted, as KVM does until a guest
 * uses them: DR0-3 are not part of the VMCB, so a guest that could
 * write them would overwrite the host's breakpoints, and a guest DR7
 * would arm them.  The guest's DR0-3 live in vcpu->db[] and reach the
 * CPU only for runs where its DR7 enables a breakpoint (mkvm_enter()).
 * CPL and the operand forms are checked by the CPU before the intercept;
 * DR4/DR5 (#UD with CR4.DE, else DR6/DR7), DR7.GD and reserved bits are
 * checked here.
 */
int mkvm_handle_dr_access(struct mkvm_vcpu *vcpu, struct mkvm_exit *exit)
{
	struct mkvm_sysreg_insn si;
	enum mkvm_cpu_mode mode;
	struct kvm_sregs s;
	int dr, gpr;
	u64 val;

	mkvm_get_code_sregs(vcpu, &s);
	mode = mkvm_cpu_mode(&s);
	if (mkvm_fetch_sysreg_insn(vcpu, &s, &exit->dr.insn, &si) ||
	    si.op != (exit->dr.write ? MKVM_SYSREG_DR_WRITE :
				       MKVM_SYSREG_DR_READ))
		return mkvm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					   exit->hw_reason, vcpu->rip);
	dr = si.reg;
	gpr = si.gpr;
	if (dr > 7 || dr != exit->dr.dr)
		goto ud;			/* DR8-15 (REX.R) do not exist */
	if (dr == 4 || dr == 5) {
		if (s.cr4 & X86_CR4_DE)
			goto ud;
		dr += 2;
	}
	val = mkvm_call(get_dr)(vcpu, 7);
	if (val & MKVM_DR7_GD) {
		/* General detect: #DB before the access, with DR6.BD. */
		mkvm_call(set_dr)(vcpu, 7, val & ~MKVM_DR7_GD);
		mkvm_call(set_dr)(vcpu, 6, (mkvm_call(get_dr)(vcpu, 6) &
					   ~MKVM_DR6_VOLATILE) | MKVM_DR6_BD);
		mkvm_queue_exception(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	}

	if (!exit->dr.write) {
		val = dr < 4 ? vcpu->db[dr] : mkvm_call(get_dr)(vcpu, dr);
		*mkvm_gpr(vcpu, gpr) = mode == MKVM_MODE_LONG64 ? val : (u32)val;
	} else {
		val = *mkvm_gpr(vcpu, gpr);
		if (mode != MKVM_MODE_LONG64)
			val = (u32)val;
		if (dr < 4) {
			vcpu->db[dr] = val;
		} else {
			if (val >> 32)
				goto gp;
			if (dr == 6)
				val = (val & MKVM_DR6_VOLATILE) | DR6_RESERVED;
			else
				val = (val & MKVM_DR7_VOLATILE) | MKVM_DR7_FIXED_1;
			mkvm_call(set_dr)(vcpu, dr, val);
		}
	}
	vcpu->rip += si.len;
	return 1;

ud:
	mkvm_queue_exception(vcpu, X86_TRAP_UD, false, 0);
	return 1;
gp:
	mkvm_queue_exception(vcpu, X86_TRAP_GP, true, 0);
	return 1;
}

/*
 * Whether the guest's DR7 arms a breakpoint; then its DR0-3 are loaded
 * around the run.  Called with interrupts disabled.  The host's DR7 is
 * cleared first, so that none of its breakpoints fires on a guest
 * address in between; VMRUN saves and #VMEXIT restores that (zero) DR7,
 * and the host's registers come back afterwards.
 */
bool mkvm_load_guest_db(struct mkvm_vcpu *vcpu, struct mkvm_host_db *h)
{
	if (!(mkvm_call(get_dr)(vcpu, 7) & (DR_LOCAL_ENABLE_MASK |
					   DR_GLOBAL_ENABLE_MASK)))
		return false;
	get_debugreg(h->dr7, 7);
	if (h->dr7 & (DR_LOCAL_ENABLE_MASK | DR_GLOBAL_ENABLE_MASK))
		set_debugreg(0UL, 7);
	get_debugreg(h->db[0], 0);
	get_debugreg(h->db[1], 1);
	get_debugreg(h->db[2], 2);
	get_debugreg(h->db[3], 3);
	set_debugreg(vcpu->db[0], 0);
	set_debugreg(vcpu->db[1], 1);
	set_debugreg(vcpu->db[2], 2);
	set_debugreg(vcpu->db[3], 3);
	return true;
}

void mkvm_put_guest_db(struct mkvm_host_db *h)
{
	set_debugreg(h->db[0], 0);
	set_debugreg(h->db[1], 1);
	set_debugreg(h->db[2], 2);
	set_debugreg(h->db[3], 3);
	set_debugreg(h->dr7, 7);
}

/* KVM_GET/SET_DEBUGREGS: DR0-3, DR6, DR7; bits 63:32 of DR6/7 are zero. */
void mkvm_get_debugregs(struct mkvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memcpy(d->db, vcpu->db, sizeof(d->db));
	d->dr6 = mkvm_call(get_dr)(vcpu, 6);
	d->dr7 = mkvm_call(get_dr)(vcpu, 7);
}

int mkvm_set_debugregs(struct mkvm_vcpu *vcpu,
		       const struct kvm_debugregs *d)
{
	if (d->flags || (d->dr6 >> 32) || (d->dr7 >> 32))
		return -EINVAL;
	memcpy(vcpu->db, d->db, sizeof(vcpu->db));
	mkvm_call(set_dr)(vcpu, 6, d->dr6);
	mkvm_call(set_dr)(vcpu, 7, d->dr7);
	return 0;
}
