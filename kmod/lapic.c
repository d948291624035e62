// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC of a vCPU, with an in-kernel irqchip.
 *
 * The state is the architectural register page, laid out as the CPU's
 * (struct kvm_lapic_state is its first KiB), so KVM_GET/SET_LAPIC are
 * copies and every register access is one switch on the offset.  The
 * vCPU's own thread owns the page: it handles the guest's accesses (the
 * xAPIC MMIO page, the x2APIC MSRs), acknowledges interrupts and runs
 * the EOI.  Other threads only deliver: they set the vector's IRR bit
 * (and its TMR bit) with atomic bit operations, or an INIT/SIPI/NMI bit
 * in lapic->pending, then wake the vCPU (mkvm_apic_wake()), which picks
 * the interrupt up before its next entry.  The timer is an hrtimer whose
 * callback sets MKVM_APIC_TIMER and wakes the vCPU; the vCPU turns it
 * into an interrupt of its LVT timer entry.
 *
 * The APIC bus runs at 1 GHz, as KVM's: one tick of the timer is one
 * nanosecond before the divider.  A periodic timer never fires more
 * often than every MKVM_APIC_MIN_PERIOD_NS, so that no guest can make
 * the host spin in timer interrupts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/tsc.h>

#include "minikvm.h"

#define MKVM_APIC_VERSION	0x14	/* integrated APIC, as KVM's */
#define MKVM_APIC_NR_LVT	6	/* timer, thermal, PMC, LINT0/1, error */
#define MKVM_APIC_MIN_PERIOD_NS	200000	/* 200 us, KVM's default minimum */
#define MKVM_APIC_LVT_TIMER_MODE GENMASK(18, 17)
#define MKVM_APIC_TIMER_ONESHOT	 0
#define MKVM_APIC_TIMER_PERIODIC BIT(17)
#define MKVM_APIC_TIMER_TSCDEADLINE BIT(18)
#define MKVM_X2APIC_MSR_BASE	0x800
#define MKVM_X2APIC_MSR_END	0x8ff
#define APIC_SHORT_MASK		0xc0000	/* ICR destination shorthand */

/* The writable bits of each LVT entry, by entry. */
#define LVT_MASK (APIC_LVT_MASKED | APIC_SEND_PENDING | APIC_VECTOR_MASK)
#define LINT_MASK (LVT_MASK | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
		   APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER)

static const u32 mkvm_lvt_mask[MKVM_APIC_NR_LVT] = {
	LVT_MASK | MKVM_APIC_LVT_TIMER_MODE,	/* LVTT */
	LVT_MASK | APIC_MODE_MASK,		/* LVTTHMR */
	LVT_MASK | APIC_MODE_MASK,		/* LVTPC */
	LINT_MASK, LINT_MASK,			/* LVT0, LVT1 */
	LVT_MASK,				/* LVTERR */
};

static u32 apic_get(struct mkvm_lapic *apic, unsigned int reg)
{
	return READ_ONCE(*(u32 *)(apic->regs + reg));
}

static void apic_set(struct mkvm_lapic *apic, unsigned int reg, u32 val)
{
	WRITE_ONCE(*(u32 *)(apic->regs + reg), val);
}

/* IRR, ISR and TMR: 256 bits, 32 per register, 16 bytes apart. */
static unsigned long *apic_vec_word(struct mkvm_lapic *apic,
				    unsigned int reg, u8 vec)
{
	return (unsigned long *)(apic->regs + reg + (vec >> 5) * 0x10);
}

static bool apic_test_vec(struct mkvm_lapic *apic, unsigned int reg, u8 vec)
{
	return test_bit(vec & 31, apic_vec_word(apic, reg, vec));
}

/* The highest vector set in IRR, ISR or TMR, or -1. */
static int apic_find_highest(struct mkvm_lapic *apic, unsigned int reg)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 v = apic_get(apic, reg + i * 0x10);

		if (v)
			return i * 32 + __fls(v);
	}
	return -1;
}

static bool apic_x2apic_mode(struct mkvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & X2APIC_ENABLE;
}

static bool apic_hw_enabled(struct mkvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & MSR_IA32_APICBASE_ENABLE;
}

static bool apic_enabled(struct mkvm_lapic *apic)
{
	return apic_hw_enabled(apic->vcpu) && READ_ONCE(apic->sw_enabled);
}

static u32 apic_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1 << (id & 0xf));
}

/* PPR: the higher class of TPR and of the highest vector in service. */
static u32 apic_ppr(struct mkvm_lapic *apic)
{
	u32 tpr = apic_get(apic, APIC_TASKPRI) & 0xff;
	int isr = apic_find_highest(apic, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr;

	return (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : (isrv & 0xf0);
}

static void apic_update_ppr(struct mkvm_lapic *apic)
{
	apic_set(apic, APIC_PROCPRI, apic_ppr(apic));
}

/* The highest requested vector above the processor priority, or -1. */
static int apic_deliverable_vector(struct mkvm_lapic *apic)
{
	int irr = apic_find_highest(apic, APIC_IRR);

	if (irr < 0 || !apic_enabled(apic))
		return -1;
	if ((irr & 0xf0) <= (apic_ppr(apic) & 0xf0))
		return -1;
	return irr;
}

/* Whether this vCPU takes the PIC's output (LINT0 as ExtINT). */
static bool apic_accepts_pic(struct mkvm_vcpu *vcpu)
{
	u32 lvt0 = apic_get(vcpu->apic, APIC_LVT0);

	if (!apic_hw_enabled(vcpu))
		return true;
	return !(lvt0 & APIC_LVT_MASKED) &&
	       (lvt0 & APIC_MODE_MASK) == APIC_DM_EXTINT;
}

/*
 * Whether the PIC's interrupt waits for this vCPU: the in-kernel PIC's
 * output, or (split irqchip) the vector userspace's PIC handed over with
 * KVM_INTERRUPT.
 */
static bool apic_pic_pending(struct mkvm_vcpu *vcpu)
{
	struct mkvm_irqchip *chip = vcpu->vm->irqchip;

	if (chip->split)
		return vcpu->apic->extint_pending && apic_accepts_pic(vcpu);
	return READ_ONCE(chip->pic.output) && apic_accepts_pic(vcpu);
}

/* As KVM: userspace may hand over a vector if LINT0 takes it, one at once. */
bool mkvm_lapic_accepts_extint(struct mkvm_vcpu *vcpu)
{
	return !vcpu->apic->extint_pending && apic_accepts_pic(vcpu);
}

int mkvm_lapic_set_extint(struct mkvm_vcpu *vcpu, u8 vector)
{
	/* With the in-kernel PIC, interrupts come from the chips. */
	if (!vcpu->vm->irqchip->split)
		return -ENXIO;
	if (vcpu->apic->extint_pending)
		return -EEXIST;
	vcpu->apic->extint_vector = vector;
	vcpu->apic->extint_pending = true;
	return 0;
}

void mkvm_apic_wake(struct mkvm_vcpu *vcpu)
{
	mkvm_make_request(vcpu, MKVM_REQ_EVENT);
	mkvm_vcpu_kick(vcpu);
	wake_up_interruptible(&vcpu->wq);
}

/* Accept one interrupt message on @vcpu's LAPIC; whether it took it. */
static bool apic_accept(struct mkvm_vcpu *vcpu, const struct mkvm_apic_irq *irq)
{
	struct mkvm_lapic *apic = vcpu->apic;

	switch (irq->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!apic_enabled(apic) || irq->vector < 16)
			return false;
		if (irq->level)
			set_bit(irq->vector & 31,
				apic_vec_word(apic, APIC_TMR, irq->vector));
		else
			clear_bit(irq->vector & 31,
				  apic_vec_word(apic, APIC_TMR, irq->vector));
		set_bit(irq->vector & 31,
			apic_vec_word(apic, APIC_IRR, irq->vector));
		break;
	case APIC_DM_NMI:
		set_bit(MKVM_APIC_NMI, &apic->pending);
		break;
	case APIC_DM_INIT:
		set_bit(MKVM_APIC_INIT, &apic->pending);
		break;
	case APIC_DM_STARTUP:
		WRITE_ONCE(apic->sipi_vector, irq->vector);
		/* The vector is visible before the bit. */
		smp_mb__before_atomic();
		set_bit(MKVM_APIC_SIPI, &apic->pending);
		break;
	default:
		/* SMI (no SMM), remote read, ExtINT by message: ignored. */
		return false;
	}
	atomic64_inc(&vcpu->irqs[irq->source]);
	mkvm_apic_wake(vcpu);
	return true;
}

/* Whether @dst is named by @irq (shorthands aside). */
static bool apic_match_dest(struct mkvm_vcpu *dst,
			    const struct mkvm_apic_irq *irq, bool from_apic)
{
	struct mkvm_lapic *apic = dst->apic;
	bool x2 = apic_x2apic_mode(dst);
	u32 bcast = x2 && from_apic ? ~0U : 0xff;
	u32 ldr, logical_id;

	if (irq->dest == bcast)
		return true;
	if (!irq->logical) {
		if (x2)
			return irq->dest == apic_get(apic, APIC_ID);
		return irq->dest == apic_get(apic, APIC_ID) >> 24;
	}
	ldr = apic_get(apic, APIC_LDR);
	if (x2)
		return (irq->dest >> 16) == (ldr >> 16) &&
		       (irq->dest & ldr & 0xffff);
	logical_id = ldr >> 24;
	if ((apic_get(apic, APIC_DFR) >> 28) == 0xf)	/* flat */
		return logical_id & irq->dest & 0xff;
	/* cluster */
	return (logical_id >> 4) == ((irq->dest >> 4) & 0xf) &&
	       (logical_id & irq->dest & 0xf);
}

int mkvm_apic_deliver(struct mkvm_vm *vm, struct mkvm_vcpu *src,
		      const struct mkvm_apic_irq *irq)
{
	int i, n = atomic_read_acquire(&vm->nr_vcpus);
	int accepted = 0;

	for (i = 0; i < n; i++) {
		struct mkvm_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu->apic)
			continue;
		switch (irq->shorthand) {
		case APIC_DEST_SELF:
			if (vcpu != src)
				continue;
			break;
		case APIC_DEST_ALLINC:
			break;
		case APIC_DEST_ALLBUT:
			if (vcpu == src)
				continue;
			break;
		default:
			if (!apic_hw_enabled(vcpu) ||
			    !apic_match_dest(vcpu, irq, !!src))
				continue;
			break;
		}
		if (apic_accept(vcpu, irq))
			accepted++;
		/* Lowest priority: one of them is enough (the first). */
		if (irq->delivery == APIC_DM_LOWEST && accepted)
			break;
	}
	return accepted;
}

void mkvm_apic_pic_changed(struct mkvm_vm *vm)
{
	int i, n = atomic_read_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		struct mkvm_vcpu *vcpu = vm->vcpus[i];

		if (vcpu->apic && apic_accepts_pic(vcpu))
			mkvm_apic_wake(vcpu);
	}
}

/* ---- the timer ---------------------------------------------------- */

static u32 apic_timer_mode(struct mkvm_lapic *apic)
{
	return apic_get(apic, APIC_LVTT) & MKVM_APIC_LVT_TIMER_MODE;
}

static u32 apic_divide(struct mkvm_lapic *apic)
{
	u32 tdcr = apic_get(apic, APIC_TDCR);
	u32 v = (tdcr & 3) | ((tdcr & 8) >> 1);

	return 1U << ((v + 1) & 7);
}

static enum hrtimer_restart apic_timer_fn(struct hrtimer *t)
{
	struct mkvm_lapic *apic = container_of(t, struct mkvm_lapic, timer);

	set_bit(MKVM_APIC_TIMER, &apic->pending);
	mkvm_apic_wake(apic->vcpu);
	if (!apic->timer_period_ns)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(apic->timer_period_ns));
	apic->timer_target = hrtimer_get_expires(t);
	return HRTIMER_RESTART;
}

static void apic_timer_cancel(struct mkvm_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
	apic->timer_period_ns = 0;
	apic->timer_target = 0;
}

/* Start the count-down timer from @count ticks (one-shot or periodic). */
static void apic_timer_start(struct mkvm_lapic *apic, u32 count)
{
	u64 ns = (u64)count * apic_divide(apic);

	apic_timer_cancel(apic);
	if (!count)
		return;
	if (apic_timer_mode(apic) == MKVM_APIC_TIMER_PERIODIC) {
		u64 period = (u64)apic_get(apic, APIC_TMICT) * apic_divide(apic);

		apic->timer_period_ns = max_t(u64, period,
					      MKVM_APIC_MIN_PERIOD_NS);
	}
	apic->timer_target = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&apic->timer, apic->timer_target, HRTIMER_MODE_ABS_HARD);
}

/* The guest's TSC now. */
static u64 apic_guest_tsc(struct mkvm_vcpu *vcpu)
{
	u64 tsc = 0;

	mkvm_call(get_msr)(vcpu, MSR_IA32_TSC, &tsc);
	return tsc;
}

static void apic_set_tsc_deadline(struct mkvm_lapic *apic, u64 deadline)
{
	u64 now, ns = 0;

	apic_timer_cancel(apic);
	apic->tsc_deadline = deadline;
	if (!deadline || apic_timer_mode(apic) != MKVM_APIC_TIMER_TSCDEADLINE)
		return;
	now = apic_guest_tsc(apic->vcpu);
	if (deadline > now && tsc_khz)
		ns = mul_u64_u32_div(deadline - now, 1000000, tsc_khz);
	apic->timer_target = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&apic->timer, apic->timer_target, HRTIMER_MODE_ABS_HARD);
}

/* TMCCT: what is left of the count, 0 once a one-shot count expired. */
static u32 apic_current_count(struct mkvm_lapic *apic)
{
	s64 left;

	if (apic_timer_mode(apic) == MKVM_APIC_TIMER_TSCDEADLINE ||
	    !apic_get(apic, APIC_TMICT) || !hrtimer_active(&apic->timer))
		return 0;
	left = ktime_to_ns(ktime_sub(apic->timer_target, ktime_get()));
	if (left < 0)
		left = 0;
	return div_u64(left, apic_divide(apic));
}

/* ---- interrupts: IPIs, EOI, acknowledge ------------------------- */

static void apic_send_ipi(struct mkvm_vcpu *vcpu, u32 lo, u32 dest)
{
	struct mkvm_apic_irq irq = {
		.vector = lo & APIC_VECTOR_MASK,
		.delivery = lo & APIC_MODE_MASK,
		.logical = lo & APIC_DEST_LOGICAL,
		.level = lo & APIC_INT_LEVELTRIG,
		.shorthand = lo & APIC_SHORT_MASK,
		.dest = dest,
		.source = MKVM_IRQ_SRC_IPI,
	};

	/* An INIT de-assert (level, not asserted) does nothing. */
	if (irq.delivery == APIC_DM_INIT && irq.level && !(lo & APIC_INT_ASSERT))
		return;
	irq.level = irq.level && irq.delivery != APIC_DM_INIT;
	mkvm_apic_deliver(vcpu->vm, vcpu, &irq);
}

static void apic_eoi(struct mkvm_lapic *apic)
{
	struct mkvm_vcpu *vcpu = apic->vcpu;
	struct mkvm_irqchip *chip = vcpu->vm->irqchip;
	int vec = apic_find_highest(apic, APIC_ISR);

	if (vec < 0)
		return;
	clear_bit(vec & 31, apic_vec_word(apic, APIC_ISR, vec));
	apic_update_ppr(apic);
	if (chip->split) {
		/* Userspace's IOAPIC hears of it before the next entry. */
		if (apic_test_vec(apic, APIC_TMR, vec) &&
		    mkvm_irq_eoi_exits(vcpu, vec)) {
			vcpu->eoi_exit_vector = vec;
			mkvm_make_request(vcpu, MKVM_REQ_IOAPIC_EOI);
		}
		return;
	}
	if (apic_test_vec(apic, APIC_TMR, vec))
		mkvm_ioapic_eoi(&chip->ioapic, vec);
}

/* The vector of a LVT entry's interrupt, raised on this LAPIC. */
static void apic_local_irq(struct mkvm_lapic *apic, unsigned int lvt)
{
	u32 v = apic_get(apic, lvt);
	struct mkvm_apic_irq irq = {
		.vector = v & APIC_VECTOR_MASK,
		.delivery = v & APIC_MODE_MASK,
		.level = v & APIC_LVT_LEVEL_TRIGGER,
		.source = MKVM_IRQ_SRC_TIMER,
	};

	if (v & APIC_LVT_MASKED)
		return;
	if (lvt == APIC_LVTT)
		irq.delivery = APIC_DM_FIXED;
	apic_accept(apic->vcpu, &irq);
}

bool mkvm_lapic_has_interrupt(struct mkvm_vcpu *vcpu)
{
	return apic_deliverable_vector(vcpu->apic) >= 0 ||
	       apic_pic_pending(vcpu);
}

int mkvm_lapic_ack_interrupt(struct mkvm_vcpu *vcpu)
{
	struct mkvm_lapic *apic = vcpu->apic;
	int vec;

	/* The PIC's ExtINT goes first, as the 8259 is wired to LINT0. */
	if (apic_pic_pending(vcpu)) {
		if (vcpu->vm->irqchip->split) {
			/* Userspace's PIC ran its INTA cycle already. */
			vcpu->apic->extint_pending = false;
			vec = vcpu->apic->extint_vector;
		} else {
			vec = mkvm_pic_read_irq(&vcpu->vm->irqchip->pic);
		}
		if (vec >= 0) {
			atomic64_inc(&vcpu->irqs[MKVM_IRQ_SRC_LINE]);
			return vec;
		}
	}
	vec = apic_deliverable_vector(apic);
	if (vec < 0)
		return -1;
	clear_bit(vec & 31, apic_vec_word(apic, APIC_IRR, vec));
	set_bit(vec & 31, apic_vec_word(apic, APIC_ISR, vec));
	apic_update_ppr(apic);
	return vec;
}

/* SIPI: the vCPU starts in real mode at vector * 4096. */
static void apic_do_sipi(struct mkvm_vcpu *vcpu, u8 vector)
{
	struct kvm_sregs s;

	mkvm_call(get_sregs)(vcpu, &s);
	s.cs.selector = vector << 8;
	s.cs.base = (u64)vector << 12;
	mkvm_write_sregs(vcpu, &s);
	vcpu->rip = 0;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
}

bool mkvm_lapic_accept_events(struct mkvm_vcpu *vcpu)
{
	struct mkvm_lapic *apic = vcpu->apic;

	/* Before every entry: nothing arrived is the common case. */
	if (!READ_ONCE(apic->pending))
		goto out;
	if (test_and_clear_bit(MKVM_APIC_TIMER, &apic->pending)) {
		if (apic_timer_mode(apic) == MKVM_APIC_TIMER_TSCDEADLINE)
			apic->tsc_deadline = 0;
		apic_local_irq(apic, APIC_LVTT);
	}
	/* INIT then SIPI, also when both arrived since the last look. */
	if (test_and_clear_bit(MKVM_APIC_INIT, &apic->pending)) {
		mkvm_vcpu_reset(vcpu, true);
		vcpu->mp_state = vcpu->id == vcpu->vm->bsp_id ?
				 KVM_MP_STATE_RUNNABLE :
				 KVM_MP_STATE_INIT_RECEIVED;
	}
	if (test_and_clear_bit(MKVM_APIC_SIPI, &apic->pending)) {
		/* Pairs with the barrier before the bit was set. */
		smp_mb__after_atomic();
		if (vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED)
			apic_do_sipi(vcpu, READ_ONCE(apic->sipi_vector));
	}
	/* An NMI: in the queue, for events.c to inject. */
	if (test_and_clear_bit(MKVM_APIC_NMI, &apic->pending))
		mkvm_queue_nmi(vcpu);
out:
	return vcpu->mp_state == KVM_MP_STATE_RUNNABLE ||
	       vcpu->mp_state == KVM_MP_STATE_HALTED;
}

bool mkvm_lapic_wakeup_pending(struct mkvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic->pending) != 0;
}

/* ---- register accesses ------------------------------------------- */

/*
 * The version register, as KVM sets it at RESET, KVM_SET_LAPIC and
 * KVM_SET_CPUID2: directed EOI (SPIV bit 12, which stops the EOI of a
 * level-triggered vector from reaching the IOAPIC) is offered only with
 * the split irqchip and x2APIC in the guest's CPUID.  Userspace's IOAPIC
 * (QEMU's, version 0x20) then has the EOI register the guest uses
 * instead; the in-kernel one, an 82093AA, has none.
 */
static void apic_set_version(struct mkvm_vcpu *vcpu)
{
	u32 v = MKVM_APIC_VERSION | ((MKVM_APIC_NR_LVT - 1) << 16);

	if (mkvm_irqchip_split(vcpu->vm) && mkvm_cpuid_has_x2apic(vcpu))
		v |= APIC_LVR_DIRECTED_EOI;
	apic_set(vcpu->apic, APIC_LVR, v);
}

/* The vCPU's CPUID changed (its thread, vCPU mutex held). */
void mkvm_lapic_after_set_cpuid(struct mkvm_vcpu *vcpu)
{
	if (vcpu->apic)
		apic_set_version(vcpu);
}

/* SPIV's writable bits: bit 12 only where the version offers it. */
static u32 apic_spiv_mask(struct mkvm_lapic *apic)
{
	return 0x3ff | (apic_get(apic, APIC_LVR) & APIC_LVR_DIRECTED_EOI ?
			APIC_SPIV_DIRECTED_EOI : 0);
}

static void apic_set_spiv(struct mkvm_lapic *apic, u32 val)
{
	int i;

	apic_set(apic, APIC_SPIV, val & apic_spiv_mask(apic));
	WRITE_ONCE(apic->sw_enabled, val & APIC_SPIV_APIC_ENABLED);
	if (apic->sw_enabled)
		return;
	/* Software-disabled: every LVT entry masked, the timer stopped. */
	for (i = 0; i < MKVM_APIC_NR_LVT; i++) {
		unsigned int reg = APIC_LVTT + 0x10 * i;

		apic_set(apic, reg, apic_get(apic, reg) | APIC_LVT_MASKED);
	}
}

static void apic_write_lvtt(struct mkvm_lapic *apic, u32 val)
{
	u32 old_mode = apic_timer_mode(apic);

	/* TSC-deadline mode only if the guest's CPUID has it. */
	if ((val & MKVM_APIC_LVT_TIMER_MODE) == MKVM_APIC_TIMER_TSCDEADLINE &&
	    !mkvm_cpuid_bit(apic->vcpu, 1, CPUID_ECX, 24))
		val &= ~MKVM_APIC_LVT_TIMER_MODE;
	if ((val & MKVM_APIC_LVT_TIMER_MODE) == (3 << 17))
		val &= ~MKVM_APIC_LVT_TIMER_MODE;	/* reserved mode */
	if (!apic->sw_enabled)
		val |= APIC_LVT_MASKED;
	apic_set(apic, APIC_LVTT, val & mkvm_lvt_mask[0]);
	if (apic_timer_mode(apic) != old_mode) {
		apic_timer_cancel(apic);
		apic_set(apic, APIC_TMICT, 0);
		apic->tsc_deadline = 0;
	}
}

/*
 * A write to the register at @reg (x2APIC: already checked as allowed
 * there).  Returns 1 if the register does not take writes.
 */
static int apic_reg_write(struct mkvm_lapic *apic, unsigned int reg, u32 val)
{
	struct mkvm_vcpu *vcpu = apic->vcpu;
	bool x2 = apic_x2apic_mode(vcpu);

	switch (reg) {
	case APIC_ID:
		if (x2)
			return 1;
		apic_set(apic, APIC_ID, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		apic_set(apic, APIC_TASKPRI, val & 0xff);
		apic_update_ppr(apic);
		break;
	case APIC_EOI:
		apic_eoi(apic);
		break;
	case APIC_LDR:
		if (x2)
			return 1;
		apic_set(apic, APIC_LDR, val & 0xff000000);
		break;
	case APIC_DFR:
		if (x2)
			return 1;
		apic_set(apic, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		apic_set_spiv(apic, val);
		break;
	case APIC_ESR:
		apic_set(apic, APIC_ESR, 0);
		break;
	case APIC_ICR:
		apic_set(apic, APIC_ICR, val & ~APIC_ICR_BUSY);
		apic_send_ipi(vcpu, val, apic_get(apic, APIC_ICR2) >> 24);
		break;
	case APIC_ICR2:
		if (x2)
			return 1;
		apic_set(apic, APIC_ICR2, val & 0xff000000);
		break;
	case APIC_LVTT:
		apic_write_lvtt(apic, val);
		break;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR: {
		unsigned int i = (reg - APIC_LVTT) >> 4;

		if (!apic->sw_enabled)
			val |= APIC_LVT_MASKED;
		apic_set(apic, reg, val & mkvm_lvt_mask[i]);
		if (reg == APIC_LVT0)
			mkvm_apic_wake(vcpu);	/* the PIC may be wired now */
		break;
	}
	case APIC_TMICT:
		if (apic_timer_mode(apic) == MKVM_APIC_TIMER_TSCDEADLINE)
			break;
		apic_set(apic, APIC_TMICT, val);
		apic_timer_start(apic, val);
		break;
	case APIC_TDCR:
		apic_set(apic, APIC_TDCR, val & 0xb);
		break;
	case APIC_SELF_IPI:
		if (!x2)
			return 1;
		apic_send_ipi(vcpu, APIC_DEST_SELF | (val & APIC_VECTOR_MASK), 0);
		break;
	default:
		return 1;
	}
	return 0;
}

/* A read of the register at @reg; returns 1 if it cannot be read. */
static int apic_reg_read(struct mkvm_lapic *apic, unsigned int reg, u32 *val)
{
	bool x2 = apic_x2apic_mode(apic->vcpu);

	switch (reg) {
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
	case APIC_ISR ... APIC_ISR + 0x70:
	case APIC_TMR ... APIC_TMR + 0x70:
	case APIC_IRR ... APIC_IRR + 0x70:
		if (reg & 0xf)
			return 1;
		*val = apic_get(apic, reg);
		break;
	case APIC_ARBPRI:
		if (x2)
			return 1;
		*val = 0;
		break;
	case APIC_PROCPRI:
		*val = apic_ppr(apic);
		break;
	case APIC_DFR:
	case APIC_ICR2:
		if (x2)
			return 1;
		*val = apic_get(apic, reg);
		break;
	case APIC_TMCCT:
		*val = apic_current_count(apic);
		break;
	default:
		return 1;
	}
	return 0;
}

bool mkvm_lapic_mmio_in_range(struct mkvm_vcpu *vcpu, u64 gpa)
{
	u64 base = vcpu->apic_base;

	if (!vcpu->apic || !(base & MSR_IA32_APICBASE_ENABLE) ||
	    (base & X2APIC_ENABLE))
		return false;
	base &= MSR_IA32_APICBASE_BASE;
	return gpa >= base && gpa < base + PAGE_SIZE;
}

/*
 * The xAPIC page: a read of 1, 2 or 4 bytes within a register's first
 * dword gives those bytes; writes must be 4 bytes at a register.  Other
 * accesses read 0 and write nothing, as KVM.
 */
void mkvm_lapic_mmio(struct mkvm_vcpu *vcpu, u64 gpa, void *data,
		     unsigned int len, bool write)
{
	struct mkvm_lapic *apic = vcpu->apic;
	unsigned int off = gpa & 0xfff;
	u32 v = 0;

	if (write) {
		if (len == 4 && !(off & 0xf) && off < KVM_APIC_REG_SIZE &&
		    off != APIC_SELF_IPI)
			apic_reg_write(apic, off, *(u32 *)data);
		return;
	}
	memset(data, 0, len);
	if ((off & 0xf) + len > 4 || off >= KVM_APIC_REG_SIZE ||
	    off == APIC_SELF_IPI)
		return;
	if (!apic_reg_read(apic, off & ~0xf, &v))
		memcpy(data, (u8 *)&v + (off & 3), len);
}

static bool apic_x2apic_msr(struct mkvm_vcpu *vcpu, u32 msr)
{
	return msr >= MKVM_X2APIC_MSR_BASE && msr <= MKVM_X2APIC_MSR_END;
}

int mkvm_lapic_rdmsr(struct mkvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct mkvm_lapic *apic = vcpu->apic;
	unsigned int reg = (msr - MKVM_X2APIC_MSR_BASE) << 4;
	u32 v;

	if (msr == MSR_IA32_TSC_DEADLINE) {
		*data = apic_timer_mode(apic) == MKVM_APIC_TIMER_TSCDEADLINE ?
			apic->tsc_deadline : 0;
		return 0;
	}
	if (!apic_x2apic_msr(vcpu, msr) || !apic_x2apic_mode(vcpu))
		return 1;
	if (reg == APIC_ICR) {
		*data = apic_get(apic, APIC_ICR) |
			(u64)apic_get(apic, APIC_ICR2) << 32;
		return 0;
	}
	if (reg == APIC_EOI || reg == APIC_SELF_IPI || apic_reg_read(apic, reg, &v))
		return 1;
	*data = v;
	return 0;
}

int mkvm_lapic_wrmsr(struct mkvm_vcpu *vcpu, u32 msr, u64 data)
{
	struct mkvm_lapic *apic = vcpu->apic;
	unsigned int reg = (msr - MKVM_X2APIC_MSR_BASE) << 4;

	if (msr == MSR_IA32_TSC_DEADLINE) {
		if (apic_timer_mode(apic) == MKVM_APIC_TIMER_TSCDEADLINE)
			apic_set_tsc_deadline(apic, data);
		return 0;
	}
	if (!apic_x2apic_msr(vcpu, msr) || !apic_x2apic_mode(vcpu))
		return 1;
	if (reg == APIC_ICR) {
		/* x2APIC: one 64-bit write, the destination in 63:32. */
		if (data & (GENMASK_ULL(31, 20) | GENMASK_ULL(17, 16) | BIT(13)))
			return 1;
		data &= ~(u64)APIC_ICR_BUSY;
		apic_set(apic, APIC_ICR2, data >> 32);
		apic_set(apic, APIC_ICR, (u32)data);
		apic_send_ipi(vcpu, (u32)data, data >> 32);
		return 0;
	}
	/* Bits 63:32 are reserved in every other register. */
	if (data >> 32)
		return 1;
	switch (reg) {
	case APIC_EOI:
		if (data)
			return 1;
		break;
	case APIC_SELF_IPI:
		if (data & ~(u64)APIC_VECTOR_MASK)
			return 1;
		break;
	case APIC_TASKPRI:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_LVTT ... APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
		break;
	default:
		return 1;
	}
	return apic_reg_write(apic, reg, data);
}

/* ---- APIC base, reset, state -------------------------------------- */

static void apic_set_x2apic_id(struct mkvm_lapic *apic)
{
	u32 id = apic->vcpu->id;

	apic_set(apic, APIC_ID, id);
	apic_set(apic, APIC_LDR, apic_x2apic_ldr(id));
}

int mkvm_lapic_set_base(struct mkvm_vcpu *vcpu, u64 value, bool host)
{
	u64 old = vcpu->apic_base;
	u64 reserved = (~0ULL << boot_cpu_data.x86_phys_bits) | 0x2ff;
	bool old_x2 = old & X2APIC_ENABLE, new_x2 = value & X2APIC_ENABLE;
	bool old_en = old & MSR_IA32_APICBASE_ENABLE;
	bool new_en = value & MSR_IA32_APICBASE_ENABLE;

	if (!mkvm_cpuid_bit(vcpu, 1, CPUID_ECX, 21))
		reserved |= X2APIC_ENABLE;
	if ((value & reserved) || (new_x2 && !new_en))
		return 1;
	if (!host && ((old_x2 && old_en && !new_x2 && new_en) ||
		      (!old_en && new_x2)))
		return 1;
	WRITE_ONCE(vcpu->apic_base, value);
	if (!vcpu->apic)
		return 0;
	if (new_x2 && !old_x2)
		apic_set_x2apic_id(vcpu->apic);
	if (!new_en && old_en)
		apic_timer_cancel(vcpu->apic);
	/* The PIC reaches the CPU directly while the LAPIC is off. */
	mkvm_apic_wake(vcpu);
	return 0;
}

void mkvm_lapic_reset(struct mkvm_vcpu *vcpu, bool init)
{
	struct mkvm_lapic *apic = vcpu->apic;
	unsigned int i;
	u32 id = vcpu->id;

	if (!apic)
		return;
	apic_timer_cancel(apic);
	apic->tsc_deadline = 0;
	if (!init)
		vcpu->apic_base = APIC_DEFAULT_PHYS_BASE |
				  MSR_IA32_APICBASE_ENABLE |
				  (vcpu->id == vcpu->vm->bsp_id ?
				   MSR_IA32_APICBASE_BSP : 0);
	memset(apic->regs, 0, KVM_APIC_REG_SIZE);
	if (apic_x2apic_mode(vcpu))
		apic_set_x2apic_id(apic);
	else
		apic_set(apic, APIC_ID, id << 24);
	apic_set_version(vcpu);
	for (i = 0; i < MKVM_APIC_NR_LVT; i++)
		apic_set(apic, APIC_LVTT + 0x10 * i, APIC_LVT_MASKED);
	/* As KVM: the BSP's LINT0 comes up as ExtINT, for the PIC. */
	if (vcpu->id == vcpu->vm->bsp_id)
		apic_set(apic, APIC_LVT0, APIC_DM_EXTINT);
	if (!apic_x2apic_mode(vcpu))
		apic_set(apic, APIC_DFR, 0xffffffff);
	apic_set(apic, APIC_SPIV, 0xff);
	apic->sw_enabled = false;
	/* INIT does not discard a pending SIPI's successor; RESET does. */
	if (!init)
		apic->pending = 0;
	else
		clear_bit(MKVM_APIC_TIMER, &apic->pending);
}

int mkvm_lapic_get_state(struct mkvm_vcpu *vcpu, struct kvm_lapic_state *s)
{
	struct mkvm_lapic *apic = vcpu->apic;
	u32 *id = (u32 *)(s->regs + APIC_ID);

	memcpy(s->regs, apic->regs, KVM_APIC_REG_SIZE);
	*(u32 *)(s->regs + APIC_TMCCT) = apic_current_count(apic);
	*(u32 *)(s->regs + APIC_PROCPRI) = apic_ppr(apic);
	/* Without KVM_CAP_X2APIC_API, an x2APIC id is given as xAPIC's. */
	if (apic_x2apic_mode(vcpu))
		*id <<= 24;
	return 0;
}

int mkvm_lapic_set_state(struct mkvm_vcpu *vcpu,
			 const struct kvm_lapic_state *s)
{
	struct mkvm_lapic *apic = vcpu->apic;
	u32 count = *(u32 *)(s->regs + APIC_TMCCT);

	apic_timer_cancel(apic);
	memcpy(apic->regs, s->regs, KVM_APIC_REG_SIZE);
	if (apic_x2apic_mode(vcpu)) {
		u32 id = apic_get(apic, APIC_ID) >> 24;

		apic_set(apic, APIC_ID, id);
		apic_set(apic, APIC_LDR, apic_x2apic_ldr(id));
	}
	apic_set_version(vcpu);
	apic_set(apic, APIC_SPIV,
		 apic_get(apic, APIC_SPIV) & apic_spiv_mask(apic));
	WRITE_ONCE(apic->sw_enabled,
		   apic_get(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED);
	apic_set(apic, APIC_TDCR, apic_get(apic, APIC_TDCR) & 0xb);
	apic_update_ppr(apic);
	apic_set(apic, APIC_TMCCT, 0);
	/* The count-down goes on from the state's current count. */
	if (apic_timer_mode(apic) != MKVM_APIC_TIMER_TSCDEADLINE &&
	    apic_get(apic, APIC_TMICT))
		apic_timer_start(apic, count);
	mkvm_apic_wake(vcpu);
	return 0;
}

/*
 * KVM_SET_VAPIC_ADDR: a guest-physical u32 that mirrors the TPR, for
 * QEMU's TPR-patching option ROM (kvmvapic), which makes old guests
 * read and write the TPR there instead of through the MMIO page.
 * Before each entry the LAPIC writes the TPR (bits 7:0), the class of
 * the highest vector in service (15:12) and the highest requested
 * vector (31:24) there; after each exit it takes the TPR back.  0 turns
 * it off (QEMU writes 0 at every reset); an address outside guest
 * memory is -EINVAL.
 */
int mkvm_lapic_set_vapic_addr(struct mkvm_vcpu *vcpu, u64 gpa)
{
	u32 data;
	int idx, r = 0;

	if (gpa) {
		idx = srcu_read_lock(&vcpu->vm->srcu);
		r = mkvm_read_guest(vcpu->vm, gpa, &data, sizeof(data));
		srcu_read_unlock(&vcpu->vm->srcu, idx);
	}
	if (r)
		return -EINVAL;
	vcpu->apic->vapic_addr = gpa;
	return 0;
}

/* Before an entry (process context, interrupts on). */
void mkvm_lapic_vapic_out(struct mkvm_vcpu *vcpu)
{
	struct mkvm_lapic *apic = vcpu->apic;
	int irr = apic_find_highest(apic, APIC_IRR);
	int isr = apic_find_highest(apic, APIC_ISR);
	u32 data = (apic_get(apic, APIC_TASKPRI) & 0xff) |
		   ((isr < 0 ? 0 : isr & 0xf0) << 8) |
		   ((irr < 0 ? 0 : irr) << 24);
	int idx = srcu_read_lock(&vcpu->vm->srcu);

	/* A slot that went away since: the guest's problem, as in KVM. */
	mkvm_write_guest(vcpu->vm, apic->vapic_addr, &data, sizeof(data));
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

/* After an exit: the TPR the guest wrote there. */
void mkvm_lapic_vapic_in(struct mkvm_vcpu *vcpu)
{
	struct mkvm_lapic *apic = vcpu->apic;
	int idx = srcu_read_lock(&vcpu->vm->srcu);
	u32 data;

	if (!mkvm_read_guest(vcpu->vm, apic->vapic_addr, &data, sizeof(data))) {
		apic_set(apic, APIC_TASKPRI, data & 0xff);
		apic_update_ppr(apic);
	}
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

u64 mkvm_lapic_get_cr8(struct mkvm_vcpu *vcpu)
{
	return (apic_get(vcpu->apic, APIC_TASKPRI) >> 4) & 0xf;
}

void mkvm_lapic_set_cr8(struct mkvm_vcpu *vcpu, u64 cr8)
{
	apic_set(vcpu->apic, APIC_TASKPRI, (cr8 & 0xf) << 4);
	apic_update_ppr(vcpu->apic);
}

int mkvm_lapic_create(struct mkvm_vcpu *vcpu)
{
	struct mkvm_lapic *apic;

	apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);
	if (!apic)
		return -ENOMEM;
	apic->regs = (u8 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	apic->vcpu = vcpu;
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = apic_timer_fn;
	vcpu->apic = apic;
	return 0;
}

void mkvm_lapic_free(struct mkvm_vcpu *vcpu)
{
	struct mkvm_lapic *apic = vcpu->apic;

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	free_page((unsigned long)apic->regs);
	kfree(apic);
	vcpu->apic = NULL;
}
