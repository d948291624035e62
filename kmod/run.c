// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM_RUN loop: completing the last exit, entering the guest
 * through the backend, requests and kicks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvm_host.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/vtime.h>
#include <asm/nospec-branch.h>
#include <asm/processor-flags.h>
/* smp_send_reschedule() traces through it since 6.6. */
#include <trace/events/ipi.h>

#include "minikvm.h"

/*
 * run->ready_for_interrupt_injection: whether KVM_INTERRUPT's vector
 * would be taken now.  With the in-kernel PIC userspace injects nothing
 * and it is always set, as in KVM; with the split irqchip, userspace's
 * PIC may hand over a vector when the guest takes interrupts, no event
 * is in delivery and LINT0 takes one more ExtINT.
 */
static bool mkvm_ready_for_injection(struct mkvm_vcpu *vcpu)
{
	if (vcpu->apic && !mkvm_irqchip_split(vcpu->vm))
		return true;
	if (!mkvm_call(interrupt_allowed)(vcpu) || mkvm_event_pending(vcpu))
		return false;
	return !vcpu->apic || mkvm_lapic_accepts_extint(vcpu);
}

/* Whether userspace injects (KVM_INTERRUPT) and may ask for the window. */
static bool mkvm_user_injects(struct mkvm_vcpu *vcpu)
{
	return !vcpu->apic || mkvm_irqchip_split(vcpu->vm);
}

/*
 * Whether the guest must exit as soon as it can take an interrupt.  With
 * the LAPIC: one waits there and cannot go in now, or another went in
 * already.  Without: whenever userspace asks for the window, as KVM
 * does; if the guest can take one now, it exits before its first
 * instruction, and KVM_RUN returns KVM_EXIT_IRQ_WINDOW_OPEN at once
 * rather than after whatever exit the guest makes next (a guest that
 * spins waiting for that interrupt may make none for a long time).
 * Split, both: userspace's window while LINT0 would take its vector.
 */
static bool mkvm_want_irq_window(struct mkvm_vcpu *vcpu, bool injected)
{
	if (!vcpu->apic)
		return vcpu->run->request_interrupt_window;
	if (vcpu->run->request_interrupt_window &&
	    mkvm_irqchip_split(vcpu->vm) && mkvm_lapic_accepts_extint(vcpu))
		return true;
	return mkvm_lapic_has_interrupt(vcpu) &&
	       (injected || !mkvm_call(interrupt_allowed)(vcpu));
}

/*
 * A halted vCPU wakes for an NMI or an interrupt it can take now, and
 * does not sleep with an exception to deliver (the single-step trap of
 * the HLT itself), as KVM.
 */
static bool mkvm_halt_done(struct mkvm_vcpu *vcpu)
{
	if (vcpu->ev.exception.type)
		return true;
	if (vcpu->ev.nmi_pending && mkvm_call(nmi_allowed)(vcpu))
		return true;
	return mkvm_lapic_has_interrupt(vcpu) &&
	       mkvm_call(interrupt_allowed)(vcpu);
}

/*
 * With an in-kernel LAPIC, before each entry: turn the LAPIC's events
 * (timer, INIT, SIPI) into state, and sleep while the vCPU is halted
 * with nothing to wake it, or waits for INIT or SIPI.  Every source of
 * a wake-up sets MKVM_REQ_EVENT before it wakes vcpu->wq, so nothing is
 * lost between the check and the sleep.  Returns 1 to go on, or -EINTR
 * for a signal (the vCPU stays halted, as in KVM).
 */
static int mkvm_vcpu_wait(struct mkvm_vcpu *vcpu)
{
	u64 t0;

	for (;;) {
		clear_bit(MKVM_REQ_EVENT, &vcpu->requests);
		/* Pairs with the barrier in mkvm_make_request()'s users. */
		smp_mb__after_atomic();
		mkvm_lapic_accept_events(vcpu);
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
			return 1;
		if (vcpu->mp_state == KVM_MP_STATE_HALTED &&
		    mkvm_halt_done(vcpu)) {
			vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
			return 1;
		}
		if (signal_pending(current)) {
			vcpu->run->exit_reason = KVM_EXIT_INTR;
			return -EINTR;
		}
		t0 = ktime_get_ns();
		wait_event_interruptible(vcpu->wq,
					 test_bit(MKVM_REQ_EVENT, &vcpu->requests));
		mkvm_stat_add(&vcpu->stats.halt_ns, ktime_get_ns() - t0);
		mkvm_cost_n(MKVM_COST_CLOCK, 2);
	}
}

#ifdef MKVM_COSTS
DEFINE_PER_CPU(u64 *, mkvm_cost_counters);
#endif

/* The vCPU is on @cpu (preemption off): the backend and the cost counts. */
static void mkvm_vcpu_load(struct mkvm_vcpu *vcpu, int cpu)
{
	mkvm_cost_attach(mkvm_stats_costs(&vcpu->stats));
	mkvm_call(vcpu_load)(vcpu, cpu);
}

static void mkvm_vcpu_put(struct mkvm_vcpu *vcpu)
{
	mkvm_call(vcpu_put)(vcpu);
	mkvm_cost_attach(NULL);
}

/*
 * exit_ns: from an exit to the next entry or to the return to userspace,
 * less the time the thread is scheduled out (a halt's sleep, a
 * preemption).  The exit's own clock read opens the interval and the
 * next entry's closes it, so an exit handled in the kernel reads the
 * clock twice; only a return to userspace and a switch away read it
 * once more.
 */
static void mkvm_exit_time_stop(struct mkvm_vcpu *vcpu, u64 now)
{
	/* Opened on this CPU: preemption moves it through the notifiers. */
	if (vcpu->exit_t && now > vcpu->exit_t)
		mkvm_stat_add(&vcpu->stats.exit_ns, now - vcpu->exit_t);
	vcpu->exit_t = 0;
}

/* Close an open exit interval now: a switch away or the way out. */
static bool mkvm_exit_time_pause(struct mkvm_vcpu *vcpu)
{
	if (!vcpu->exit_t)
		return false;
	mkvm_cost(MKVM_COST_CLOCK);
	mkvm_exit_time_stop(vcpu, local_clock());
	return true;
}

static void mkvm_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct mkvm_vcpu *vcpu = container_of(pn, struct mkvm_vcpu, pn);

	vcpu->flush_l1d = true;
	mkvm_vcpu_load(vcpu, cpu);
	if (vcpu->exit_paused) {
		vcpu->exit_paused = false;
		vcpu->exit_t = local_clock();
		mkvm_cost(MKVM_COST_CLOCK);
	}
}

static void mkvm_sched_out(struct preempt_notifier *pn,
			   struct task_struct *next)
{
	struct mkvm_vcpu *vcpu = container_of(pn, struct mkvm_vcpu, pn);

	if (mkvm_exit_time_pause(vcpu))
		vcpu->exit_paused = true;
	mkvm_vcpu_put(vcpu);
}

struct preempt_ops mkvm_preempt_ops = {
	.sched_in = mkvm_sched_in,
	.sched_out = mkvm_sched_out,
};

/*
 * The requests other threads (or this one) made of the vCPU, handled
 * with interrupts off and the vCPU in guest mode, so that a request made
 * after this point comes with a kick that forces the coming entry out
 * again.  Returns whether the guest may be entered.
 */
static bool mkvm_handle_requests(struct mkvm_vcpu *vcpu)
{
	/* The common case: nothing asked, no locked operation. */
	if (likely(!READ_ONCE(vcpu->requests)))
		return true;
	if (test_and_clear_bit(MKVM_REQ_TLB_FLUSH, &vcpu->requests))
		mkvm_call(flush_tlb)(vcpu);
	if (test_and_clear_bit(MKVM_REQ_MSR_FILTER, &vcpu->requests))
		mkvm_update_msr_intercepts(vcpu);
	return !READ_ONCE(vcpu->requests);
}

/* Enter the guest once; returns like an exit handler. */
static int mkvm_enter_guest(struct mkvm_vcpu *vcpu)
{
	struct mkvm_exit exit = { .reason = MKVM_EXIT_NONE };
	struct mkvm_host_db host_db;
	u64 t0, t1;
	bool guest_db, injected;
	int r;

	/* An exception while delivering a #DF: the CPU shuts down. */
	if (vcpu->ev.triple_fault) {
		vcpu->ev.triple_fault = false;
		return mkvm_exit_shutdown(vcpu);
	}

	/* The requests handled where the vCPU may still sleep or exit. */
	if (unlikely(READ_ONCE(vcpu->requests) &
		     (BIT(MKVM_REQ_IOAPIC_EOI) | BIT(MKVM_REQ_CLOCK_UPDATE)))) {
		/* Split irqchip: userspace's IOAPIC hears of an EOI first. */
		if (test_and_clear_bit(MKVM_REQ_IOAPIC_EOI, &vcpu->requests)) {
			vcpu->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
			vcpu->run->eoi.vector = vcpu->eoi_exit_vector;
			return 0;
		}
		if (test_and_clear_bit(MKVM_REQ_CLOCK_UPDATE, &vcpu->requests))
			mkvm_kvmclock_update(vcpu);
	}
	if (vcpu->apic && vcpu->apic->vapic_addr)
		mkvm_lapic_vapic_out(vcpu);
	preempt_disable();
	local_irq_disable();
	WRITE_ONCE(vcpu->mode, MKVM_IN_GUEST_MODE);
	/* Pairs with the kicks: mode is visible before requests are read. */
	smp_mb();
	if (!mkvm_handle_requests(vcpu) || need_resched() ||
	    signal_pending(current)) {
		WRITE_ONCE(vcpu->mode, MKVM_OUTSIDE_GUEST_MODE);
		local_irq_enable();
		preempt_enable();
		return 1;
	}
	/* Now that the entry is certain: nothing waits in the backend. */
	injected = mkvm_inject_events(vcpu);
	mkvm_call(enable_irq_window)(vcpu, mkvm_want_irq_window(vcpu, injected));
	/* One more NMI waits (masked, or behind the event just injected). */
	mkvm_call(enable_nmi_window)(vcpu, vcpu->ev.nmi_pending);
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	guest_db = mkvm_load_guest_db(vcpu, &host_db);
	mkvm_load_guest_tsc_aux(vcpu);
	t0 = local_clock();
	mkvm_exit_time_stop(vcpu, t0);
	/*
	 * PF_VCPU: the tick charges this task's time as guest time.  The
	 * backends enter RCU's guest context around the entry itself.
	 */
	guest_timing_enter_irqoff();
	mkvm_call(vcpu_run)(vcpu, &exit);
	t1 = local_clock();
	vcpu->exit_t = t1;
	if (guest_db)
		mkvm_put_guest_db(&host_db);
	/*
	 * VMSCAPE: the guest may have trained the branch predictors that the
	 * VMM's userspace uses.  Where the kernel mitigates it, it issues an
	 * IBPB before this CPU next returns to userspace; mark the CPU that
	 * ran the guest (preemption is still off), as KVM does.
	 */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);

	WRITE_ONCE(vcpu->mode, MKVM_OUTSIDE_GUEST_MODE);
	/*
	 * The host interrupt that ended the run (the tick, often) is taken
	 * here: still as guest time, as in KVM, or a guest that runs until
	 * each tick would never be charged any.
	 */
	local_irq_enable();
	local_irq_disable();
	guest_timing_exit_irqoff();
	local_irq_enable();
	preempt_enable();

	if (vcpu->apic && vcpu->apic->vapic_addr)
		mkvm_lapic_vapic_in(vcpu);
	mkvm_events_after_exit(vcpu, &exit);
	r = mkvm_handle_exit(vcpu, &exit);
	if (unlikely(exit.tf) && r >= 0)
		mkvm_single_step_done(vcpu, exit.rip);
	mkvm_account_exit(vcpu, &exit, r, t1 - t0);
	mkvm_cost_n(MKVM_COST_CLOCK, 2);
	return r;
}

static int __mkvm_vcpu_run(struct mkvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r = 1;
	u64 rip;

	vcpu->ran = true;
	vcpu->flush_l1d = true;
	run->flags = 0;

	/* KVM_CAP_SYNC_REGS: what userspace left in kvm_run goes in first. */
	if (run->kvm_dirty_regs || run->kvm_valid_regs) {
		r = mkvm_sync_regs_in(vcpu);
		if (r)
			goto out_noload;
		r = 1;
	}

	rip = vcpu->rip;
	switch (vcpu->pending) {
	case MKVM_PENDING_PIO_IN:
		r = mkvm_complete_pio_in(vcpu);
		break;
	case MKVM_PENDING_MMIO_LOAD:
		mkvm_complete_mmio_load(vcpu);
		break;
	case MKVM_PENDING_MMIO_STRING:
		r = mkvm_complete_string_mmio(vcpu);
		break;
	case MKVM_PENDING_RDMSR:
	case MKVM_PENDING_WRMSR:
		mkvm_complete_msr(vcpu, vcpu->pending == MKVM_PENDING_RDMSR);
		break;
	default:
		break;
	}
	vcpu->pending = MKVM_PENDING_NONE;
	if (r <= 0)
		goto out_noload;
	/* An instruction completed by what userspace gave: TF's trap now. */
	if (vcpu->rip != rip)
		mkvm_single_step_done(vcpu, rip);

	/* As KVM, exit_reason is left as it was. */
	if (mkvm_immediate_exit(run)) {
		r = -EINTR;
		goto out_noload;
	}

	atomic_inc(&vcpu->vm->running);
	WRITE_ONCE(vcpu->vm->has_run, true);
	preempt_notifier_register(&vcpu->pn);
	preempt_disable();
	mkvm_vcpu_load(vcpu, smp_processor_id());
	preempt_enable();
	fpu_swap_kvm_fpstate(&vcpu->fpu, true);

	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		if (vcpu->apic) {
			r = mkvm_vcpu_wait(vcpu);
			if (r <= 0)
				break;
		}
		r = mkvm_enter_guest(vcpu);
		if (r <= 0)
			break;
		if (mkvm_user_injects(vcpu) && run->request_interrupt_window &&
		    mkvm_ready_for_injection(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
		cond_resched();
	}

	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
	preempt_disable();
	mkvm_exit_time_pause(vcpu);
	mkvm_vcpu_put(vcpu);
	preempt_notifier_unregister(&vcpu->pn);
	preempt_enable();
	atomic_dec(&vcpu->vm->running);

out_noload:
	mkvm_stat_add(&vcpu->stats.user_exits, 1);
	run->if_flag = !!(mkvm_call(get_rflags)(vcpu) & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = mkvm_ready_for_injection(vcpu);
	run->apic_base = vcpu->apic_base;
	if (vcpu->apic)
		run->cr8 = mkvm_lapic_get_cr8(vcpu);
	if (run->kvm_valid_regs)
		mkvm_sync_regs_out(vcpu);
	return r;
}

int mkvm_vcpu_run(struct mkvm_vcpu *vcpu)
{
	int r;

	/*
	 * KVM_SET_SIGNAL_MASK's mask for the call; the thread's own waits in
	 * real_blocked (used only by rt_sigtimedwait(), never meanwhile).
	 */
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &current->real_blocked);
	r = __mkvm_vcpu_run(vcpu);
	if (vcpu->sigset_active) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return r;
}

/*
 * Make @vcpu see a request (set before with mkvm_make_request()) before
 * it next runs guest code.  Never sleeps and never waits, so it may be
 * called from any context: another vCPU, an hrtimer, an interrupt.  A
 * vCPU in guest mode on another CPU gets a reschedule IPI, which makes
 * it exit; one outside guest mode checks its requests before entering.
 */
void mkvm_vcpu_kick(struct mkvm_vcpu *vcpu)
{
	int me = get_cpu();
	int cpu;

	/* Pairs with the smp_mb() after mode is set on entry. */
	smp_mb();
	if (READ_ONCE(vcpu->mode) == MKVM_IN_GUEST_MODE) {
		cpu = READ_ONCE(vcpu->cpu);
		if (cpu != me && (unsigned int)cpu < nr_cpu_ids && cpu_online(cpu))
			smp_send_reschedule(cpu);
	}
	put_cpu();
}

static void mkvm_kick_nop(void *unused)
{
}

/*
 * Make every vCPU handle @req before it next runs guest code, and wait
 * until none still runs guest code from before: those in guest mode are
 * forced out by an IPI that this waits for.  Process context only (it
 * waits); the TLB flush before guest pages are unpinned needs the wait.
 * vCPUs are published with release in vm->nr_vcpus and never removed
 * before the VM is freed, so no lock is taken.
 */
void mkvm_kick_all(struct mkvm_vm *vm, int req)
{
	int i, n = atomic_read_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		struct mkvm_vcpu *vcpu = vm->vcpus[i];

		mkvm_make_request(vcpu, req);
		/* Pairs with the barrier after mode is set on entry. */
		smp_mb__after_atomic();
		if (READ_ONCE(vcpu->mode) == MKVM_IN_GUEST_MODE)
			smp_call_function_single(READ_ONCE(vcpu->cpu),
						 mkvm_kick_nop, NULL, 1);
	}
}
