// SPDX-License-Identifier: GPL-2.0
/*
 * The PC's 8254 programmable interval timer (KVM_CREATE_PIT2): three
 * 16-bit down counters clocked at 1193182 Hz on ports 0x40-0x42, their
 * control word on port 0x43.  Channel 0's output is IRQ 0 (GSI 0, which
 * the routing table sends to the PIC and to IOAPIC pin 0 or elsewhere);
 * channel 2's gate and output are bits 0 and 5 of port 0x61, which the
 * kernel answers only with KVM_PIT_SPEAKER_DUMMY (as KVM: without it,
 * port 0x61 is userspace's, and the gate stays as KVM_SET_PIT2 left it).
 *
 * The model is the state KVM_GET_PIT2 carries, struct
 * kvm_pit_channel_state per channel, and it does no work per tick:
 * - A counter counts from count_load_time, the host's CLOCK_MONOTONIC
 *   when its count was loaded (in ns, for every channel; KVM keeps it
 *   for channels 1 and 2 only).  Reading the count or OUT computes the
 *   ticks elapsed since then and applies the mode: modes 0, 1, 4 and 5
 *   count down once and wrap at 0 (a count of 0 means 65536), modes 2
 *   (rate generator) and 3 (square wave, by twos) reload periodically.
 * - OUT follows the 8254 datasheet: mode 0 rises at the terminal count;
 *   mode 1 is low from the start until the terminal count; modes 2, 4
 *   and 5 are high but for one clock (count 1 in mode 2, count 0 in
 *   modes 4 and 5); mode 3 is high for the first half of each period.
 * - As KVM, modes 1 and 5 (hardware-triggered) start counting when the
 *   count is loaded as well as on a rising gate.  A gate matters only for
 *   channel 2 (a PC wires the others high): low, it holds the count in
 *   modes 0, 2, 3 and 4 (and keeps OUT high in modes 2 and 3); rising,
 *   it resumes the count in modes 0 and 4 and restarts it in the others.
 * - BCD is stored and reported (status, KVM_GET_PIT2) but the counters
 *   count in binary, as KVM's do.
 * - Mode 0xff is "never programmed", KVM's reset value: such a channel
 *   counts as mode 2 would and raises nothing.
 *
 * Channel 0's interrupt comes from an hrtimer (HRTIMER_MODE_ABS_HARD):
 * a one-shot at the terminal count in modes 0, 1 and 4, periodic in
 * modes 2 and 3 with a period of at least MKVM_PIT_MIN_PERIOD_NS (KVM's
 * min_timer_period_us, 200 us).  The callback runs in hard interrupt
 * context, where the IOAPIC's and PIC's spinlocks may not be taken, so
 * it only queues pit->irq_work; the work pulses GSI 0 (1 then 0).
 * Ticks the guest could not take are coalesced, as KVM's "no reinject"
 * policy (KVM_REINJECT_CONTROL with pit_reinject = 0; KVM's default is
 * to reinject, which is not implemented): a tick while the work is still
 * queued, or while the chips still hold the previous edge, is lost, and a
 * periodic timer late by several periods fires once (hrtimer_forward_now).
 * Writing a control word for channel 0 stops its timer until a count is
 * loaded, as the datasheet stops counting.  With KVM_PIT_FLAGS_HPET_LEGACY
 * (KVM_SET_PIT2) channel 0 raises nothing.
 *
 * Locking: the channels and flags are under pit->lock [t], a spinlock
 * taken by the vCPUs' port accesses and the state ioctls, never in hard
 * interrupt context and never around a call into the other chips.
 * pit->period_ns is written under [t] while the timer is cancelled and
 * read by the timer's callback.  The PIT is created once, under
 * vm->irq_lock, after the irqchip (irqchip->pit, published with release
 * and never changed afterwards), and stopped before the vCPUs are freed:
 * the work delivers to their LAPICs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "minikvm.h"
#include "irqchip.h"

#define PIT_FREQ		1193182		/* Hz */
#define PIT_PORT_BASE		0x40		/* channels 0-2 */
#define PIT_PORT_CONTROL	0x43
#define PIT_PORT_SPEAKER	0x61
#define PIT_CHANNELS		3
#define PIT_MAX_COUNT		0x10000		/* what a count of 0 means */
#define PIT_MODE_NONE		0xff		/* never programmed (KVM) */
#define MKVM_PIT_MIN_PERIOD_NS	200000ULL	/* KVM's min_timer_period_us */

/* The control word (port 0x43). */
#define PIT_CW_SC_SHIFT		6		/* select counter, 3: read-back */
#define PIT_CW_RW_SHIFT		4		/* access, 0: counter latch */
#define PIT_CW_MODE_SHIFT	1
#define PIT_CW_BCD		0x01
#define PIT_READBACK		3
#define PIT_RB_NO_COUNT		0x20		/* read-back: don't latch count */
#define PIT_RB_NO_STATUS	0x10		/* ... don't latch status */
#define PIT_RB_CHANNEL(i)	(2 << (i))
#define PIT_STATUS_OUT		0x80
#define PIT_STATUS_NULL		0x40

/* Port 0x61. */
#define PIT_SPK_GATE		0x01
#define PIT_SPK_DATA		0x02
#define PIT_SPK_REFRESH		0x10
#define PIT_SPK_OUT2		0x20

/* read_state, write_state, rw_mode and count_latched, as KVM's. */
enum {
	PIT_RW_LSB = 1,
	PIT_RW_MSB,
	PIT_RW_WORD0,			/* LSB then MSB: LSB next */
	PIT_RW_WORD1,			/* LSB then MSB: MSB next */
};

#define PIT_KNOWN_FLAGS	(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)

struct mkvm_pit {
	spinlock_t lock;			/* [t] */
	struct mkvm_vm *vm;			/* [I] */
	bool speaker;				/* [I] port 0x61 is ours */
	struct kvm_pit_channel_state ch[PIT_CHANNELS];	/* [t] */
	u32 flags;				/* [t] KVM_PIT_FLAGS_* */
	/* Elapsed ns of a count held by a low gate (modes 0, 2, 3, 4). */
	s64 held_ns[PIT_CHANNELS];		/* [t] */
	bool null_count[PIT_CHANNELS];		/* [t] status bit 6 */
	struct hrtimer timer;			/* channel 0's interrupt */
	u64 period_ns;				/* [t], see above; 0: one-shot */
	struct work_struct irq_work;		/* pulses GSI 0 */
};

static u64 pit_ticks_to_ns(u64 ticks)
{
	return mul_u64_u32_div(ticks, NSEC_PER_SEC, PIT_FREQ);
}

/* Whether a low gate holds the count in this mode. */
static bool pit_gate_holds(u8 mode)
{
	return mode == 0 || mode == 2 || mode == 3 || mode == 4;
}

/* Nanoseconds channel @i has counted since its count was loaded.  [t] */
static s64 pit_elapsed_ns(struct mkvm_pit *pit, int i)
{
	const struct kvm_pit_channel_state *c = &pit->ch[i];
	s64 ns;

	if (!c->gate && pit_gate_holds(c->mode))
		return pit->held_ns[i];
	ns = ktime_get_ns() - c->count_load_time;
	return ns > 0 ? ns : 0;
}

static u64 pit_elapsed_ticks(struct mkvm_pit *pit, int i)
{
	return mul_u64_u32_div(pit_elapsed_ns(pit, i), PIT_FREQ, NSEC_PER_SEC);
}

/* The counting element now: what a latch or a direct read sees.  [t] */
static u16 pit_get_count(struct mkvm_pit *pit, int i)
{
	const struct kvm_pit_channel_state *c = &pit->ch[i];
	u64 d = pit_elapsed_ticks(pit, i);
	u32 rem;

	switch (c->mode) {
	case 0:
	case 1:
	case 4:
	case 5:
		return (c->count - d) & 0xffff;
	case 3:
		/* Twice per period, by twos (exact for even counts). */
		div_u64_rem(2 * d, c->count, &rem);
		return (c->count - rem) & 0xffff;
	default:
		div_u64_rem(d, c->count, &rem);
		return (c->count - rem) & 0xffff;
	}
}

/* The OUT pin of channel @i now, per the datasheet.  [t] */
static bool pit_get_out(struct mkvm_pit *pit, int i)
{
	const struct kvm_pit_channel_state *c = &pit->ch[i];
	u64 d = pit_elapsed_ticks(pit, i);
	u32 rem;

	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->count;
	case 2:
		if (!c->gate)
			return true;
		div_u64_rem(d, c->count, &rem);
		return rem != c->count - 1;
	case 3:
		if (!c->gate)
			return true;
		div_u64_rem(d, c->count, &rem);
		return rem < (c->count + 1) / 2;
	case 4:
	case 5:
		return d != c->count;
	default:
		return false;
	}
}

/* (Re)arm channel 0's interrupt from its state.  [t] */
static void pit_timer_arm(struct mkvm_pit *pit)
{
	const struct kvm_pit_channel_state *c = &pit->ch[0];
	u64 ns = pit_ticks_to_ns(c->count);

	hrtimer_cancel(&pit->timer);
	WRITE_ONCE(pit->period_ns, 0);
	if (pit->flags & KVM_PIT_FLAGS_HPET_LEGACY)
		return;
	switch (c->mode) {
	case 2:
	case 3:
		ns = max(ns, MKVM_PIT_MIN_PERIOD_NS);
		WRITE_ONCE(pit->period_ns, ns);
		break;
	case 0:
	case 1:
	case 4:
		break;
	default:			/* mode 5 waits for a gate; none */
		return;
	}
	hrtimer_start(&pit->timer, ns_to_ktime(c->count_load_time + ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* A new count reaches the counting element of channel @i.  [t] */
static void pit_load_count(struct mkvm_pit *pit, int i, u32 val)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	c->count = val ? val : PIT_MAX_COUNT;
	c->count_load_time = ktime_get_ns();
	pit->held_ns[i] = 0;
	pit->null_count[i] = false;
	if (i == 0)
		pit_timer_arm(pit);
}

static void pit_set_gate(struct mkvm_pit *pit, int i, bool gate)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];
	s64 now = ktime_get_ns();

	if (gate == !!c->gate)
		return;
	if (!gate) {
		pit->held_ns[i] = pit_elapsed_ns(pit, i);
	} else if (c->mode == 0 || c->mode == 4) {
		c->count_load_time = now - pit->held_ns[i];
	} else {
		c->count_load_time = now;	/* a trigger: count again */
		pit->held_ns[i] = 0;
	}
	c->gate = gate;
}

static void pit_latch_count(struct mkvm_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	if (c->count_latched)
		return;
	c->latched_count = pit_get_count(pit, i);
	c->count_latched = c->rw_mode;
}

static void pit_latch_status(struct mkvm_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	if (c->status_latched)
		return;
	c->status = (pit_get_out(pit, i) ? PIT_STATUS_OUT : 0) |
		    (pit->null_count[i] ? PIT_STATUS_NULL : 0) |
		    (c->rw_mode & 3) << PIT_CW_RW_SHIFT |
		    (c->mode & 7) << PIT_CW_MODE_SHIFT | (c->bcd & 1);
	c->status_latched = 1;
}

static void pit_write_control(struct mkvm_pit *pit, u8 val)
{
	int i = val >> PIT_CW_SC_SHIFT;
	u8 rw = (val >> PIT_CW_RW_SHIFT) & 3;
	struct kvm_pit_channel_state *c;

	if (i == PIT_READBACK) {
		for (i = 0; i < PIT_CHANNELS; i++) {
			if (!(val & PIT_RB_CHANNEL(i)))
				continue;
			if (!(val & PIT_RB_NO_COUNT))
				pit_latch_count(pit, i);
			if (!(val & PIT_RB_NO_STATUS))
				pit_latch_status(pit, i);
		}
		return;
	}
	if (!rw) {
		pit_latch_count(pit, i);
		return;
	}
	c = &pit->ch[i];
	c->rw_mode = rw;
	c->read_state = rw;
	c->write_state = rw;
	c->mode = (val >> PIT_CW_MODE_SHIFT) & 7;
	if (c->mode > 5)
		c->mode -= 4;			/* 6 and 7 are 2 and 3 */
	c->bcd = val & PIT_CW_BCD;
	c->count_latched = 0;
	c->status_latched = 0;
	pit->null_count[i] = true;
	/* Counting stops until a count is written. */
	if (i == 0) {
		hrtimer_cancel(&pit->timer);
		WRITE_ONCE(pit->period_ns, 0);
	}
}

static void pit_write_count(struct mkvm_pit *pit, int i, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	switch (c->write_state) {
	case PIT_RW_MSB:
		pit_load_count(pit, i, val << 8);
		break;
	case PIT_RW_WORD0:
		c->write_latch = val;
		c->write_state = PIT_RW_WORD1;
		break;
	case PIT_RW_WORD1:
		pit_load_count(pit, i, c->write_latch | val << 8);
		c->write_state = PIT_RW_WORD0;
		break;
	default:			/* PIT_RW_LSB, or never programmed */
		pit_load_count(pit, i, val);
		break;
	}
}

static u8 pit_read_count(struct mkvm_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];
	u16 count;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	switch (c->count_latched) {
	case PIT_RW_LSB:
		c->count_latched = 0;
		return c->latched_count & 0xff;
	case PIT_RW_MSB:
		c->count_latched = 0;
		return c->latched_count >> 8;
	case PIT_RW_WORD0:
		c->count_latched = PIT_RW_MSB;
		return c->latched_count & 0xff;
	default:
		break;
	}
	count = pit_get_count(pit, i);
	switch (c->read_state) {
	case PIT_RW_MSB:
		return count >> 8;
	case PIT_RW_WORD0:
		c->read_state = PIT_RW_WORD1;
		return count & 0xff;
	case PIT_RW_WORD1:
		c->read_state = PIT_RW_WORD0;
		return count >> 8;
	default:
		return count & 0xff;
	}
}

static u8 pit_read_speaker(struct mkvm_pit *pit)
{
	/* The refresh bit toggles about every 15 us: 2^14 ns, as KVM. */
	u8 val = (ktime_get_ns() >> 14) & 1 ? PIT_SPK_REFRESH : 0;

	if (pit->ch[2].gate)
		val |= PIT_SPK_GATE;
	if (pit->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON)
		val |= PIT_SPK_DATA;
	if (pit_get_out(pit, 2))
		val |= PIT_SPK_OUT2;
	return val;
}

static void pit_write_speaker(struct mkvm_pit *pit, u8 val)
{
	if (val & PIT_SPK_DATA)
		pit->flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		pit->flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	pit_set_gate(pit, 2, val & PIT_SPK_GATE);
}

int mkvm_pit_pio(struct mkvm_irqchip *chip, u16 port, bool in, u8 *val)
{
	/* Pairs with the release in mkvm_pit_create(). */
	struct mkvm_pit *pit = smp_load_acquire(&chip->pit);

	if (!pit)
		return -ENOENT;
	if (port == PIT_PORT_SPEAKER && !pit->speaker)
		return -ENOENT;
	if (port != PIT_PORT_SPEAKER &&
	    (port < PIT_PORT_BASE || port > PIT_PORT_CONTROL))
		return -ENOENT;

	spin_lock(&pit->lock);
	if (port == PIT_PORT_SPEAKER) {
		if (in)
			*val = pit_read_speaker(pit);
		else
			pit_write_speaker(pit, *val);
	} else if (port == PIT_PORT_CONTROL) {
		if (in)
			*val = 0xff;		/* the control word is write-only */
		else
			pit_write_control(pit, *val);
	} else if (in) {
		*val = pit_read_count(pit, port - PIT_PORT_BASE);
	} else {
		pit_write_count(pit, port - PIT_PORT_BASE, *val);
	}
	spin_unlock(&pit->lock);
	return 0;
}

/* ---- channel 0's interrupt ------------------------------------------ */

static void pit_irq_work(struct work_struct *work)
{
	struct mkvm_pit *pit = container_of(work, struct mkvm_pit, irq_work);

	mkvm_irq_set(pit->vm, 0, 1);
	mkvm_irq_set(pit->vm, 0, 0);
}

static enum hrtimer_restart pit_timer_fn(struct hrtimer *t)
{
	struct mkvm_pit *pit = container_of(t, struct mkvm_pit, timer);
	u64 period = READ_ONCE(pit->period_ns);

	/* Already queued: this tick is coalesced with the pending one. */
	queue_work(system_highpri_wq, &pit->irq_work);
	if (!period)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(period));
	return HRTIMER_RESTART;
}

/* ---- creation, state, teardown -------------------------------------- */

/* The state after creation, as KVM's reset: nothing programmed.  [t] */
static void pit_reset(struct mkvm_pit *pit)
{
	int i;

	pit->flags = 0;
	for (i = 0; i < PIT_CHANNELS; i++) {
		memset(&pit->ch[i], 0, sizeof(pit->ch[i]));
		pit->ch[i].mode = PIT_MODE_NONE;
		pit->ch[i].gate = i != 2;
		pit_load_count(pit, i, 0);
	}
}

static long mkvm_pit_create(struct mkvm_vm *vm, struct mkvm_irqchip *chip,
			    u32 flags)
{
	struct mkvm_pit *pit;
	long r;

	if (flags & ~KVM_PIT_SPEAKER_DUMMY)
		return -EINVAL;
	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		return -ENOMEM;
	spin_lock_init(&pit->lock);
	pit->vm = vm;
	pit->speaker = flags & KVM_PIT_SPEAKER_DUMMY;
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	pit->timer.function = pit_timer_fn;
	INIT_WORK(&pit->irq_work, pit_irq_work);
	spin_lock(&pit->lock);
	pit_reset(pit);
	spin_unlock(&pit->lock);

	mutex_lock(&vm->irq_lock);
	r = -EEXIST;
	if (chip->pit)
		goto unlock;
	/* Pairs with the acquires of mkvm_pit_pio() and the ioctls. */
	smp_store_release(&chip->pit, pit);
	r = 0;
unlock:
	mutex_unlock(&vm->irq_lock);
	if (r)
		kfree(pit);
	return r;
}

/* Bring one channel of userspace's state into range and load it.  [t] */
static void pit_set_channel(struct mkvm_pit *pit, int i,
			    const struct kvm_pit_channel_state *s)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];
	u32 count = s->count;

	c->latched_count = s->latched_count;
	c->count_latched = s->count_latched <= PIT_RW_WORD0 ?
			   s->count_latched : 0;
	c->status_latched = !!s->status_latched;
	c->status = s->status;
	c->rw_mode = s->rw_mode & 3;
	c->read_state = s->read_state <= PIT_RW_WORD1 ?
			s->read_state : c->rw_mode;
	c->write_state = s->write_state <= PIT_RW_WORD1 ?
			 s->write_state : c->rw_mode;
	c->write_latch = s->write_latch;
	c->mode = s->mode;
	if (c->mode == 6 || c->mode == 7)
		c->mode -= 4;
	else if (c->mode > 5)
		c->mode = PIT_MODE_NONE;
	c->bcd = s->bcd & 1;
	/* A PC wires the gates of channels 0 and 1 high. */
	c->gate = i == 2 ? !!s->gate : 1;
	if (count > PIT_MAX_COUNT)
		count &= 0xffff;
	/* As KVM: the count restarts now, whatever count_load_time says. */
	pit_load_count(pit, i, count);
}

static void pit_get_state(struct mkvm_pit *pit, struct kvm_pit_state2 *s)
{
	memset(s, 0, sizeof(*s));
	spin_lock(&pit->lock);
	memcpy(s->channels, pit->ch, sizeof(s->channels));
	s->flags = pit->flags;
	spin_unlock(&pit->lock);
}

static void pit_set_state(struct mkvm_pit *pit,
			  const struct kvm_pit_channel_state *ch,
			  const u32 *flags)
{
	int i;

	spin_lock(&pit->lock);
	if (flags)
		pit->flags = *flags & PIT_KNOWN_FLAGS;
	for (i = 0; i < PIT_CHANNELS; i++)
		pit_set_channel(pit, i, &ch[i]);
	spin_unlock(&pit->lock);
}

/* KVM_GET/SET_PIT(2): @two selects struct kvm_pit_state2. */
static long mkvm_pit_state(struct mkvm_pit *pit, void __user *argp,
			   bool set, bool two)
{
	size_t size = two ? sizeof(struct kvm_pit_state2) :
			    sizeof(struct kvm_pit_state);
	struct kvm_pit_state2 s;

	BUILD_BUG_ON(offsetof(struct kvm_pit_state2, channels) != 0);
	BUILD_BUG_ON(sizeof(struct kvm_pit_state) !=
		     sizeof(((struct kvm_pit_state2 *)0)->channels));

	if (set) {
		if (copy_from_user(&s, argp, size))
			return -EFAULT;
		pit_set_state(pit, s.channels, two ? &s.flags : NULL);
		return 0;
	}
	pit_get_state(pit, &s);
	return copy_to_user(argp, &s, size) ? -EFAULT : 0;
}

long mkvm_pit_ioctl(struct mkvm_vm *vm, struct mkvm_irqchip *chip,
		    unsigned int ioctl, void __user *argp)
{
	struct kvm_pit_config cfg;
	struct mkvm_pit *pit;

	switch (ioctl) {
	case KVM_CREATE_PIT:
		if (!chip)
			return -ENOENT;
		return mkvm_pit_create(vm, chip, KVM_PIT_SPEAKER_DUMMY);
	case KVM_CREATE_PIT2:
		if (copy_from_user(&cfg, argp, sizeof(cfg)))
			return -EFAULT;
		if (!chip)
			return -ENOENT;
		return mkvm_pit_create(vm, chip, cfg.flags);
	case KVM_GET_PIT:
	case KVM_SET_PIT:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
		break;
	default:
		return -ENOTTY;
	}
	/* Pairs with the release in mkvm_pit_create(). */
	pit = chip ? smp_load_acquire(&chip->pit) : NULL;
	if (!pit)
		return -ENXIO;
	switch (ioctl) {
	case KVM_GET_PIT:
		return mkvm_pit_state(pit, argp, false, false);
	case KVM_SET_PIT:
		return mkvm_pit_state(pit, argp, true, false);
	case KVM_GET_PIT2:
		return mkvm_pit_state(pit, argp, false, true);
	default:
		return mkvm_pit_state(pit, argp, true, true);
	}
}

/*
 * With the VM, before its vCPUs go: no timer, no queued injection.
 * Nothing can re-arm the timer by then (no vCPU runs, no ioctl).
 */
void mkvm_pit_free(struct mkvm_vm *vm)
{
	struct mkvm_pit *pit = vm->irqchip ? vm->irqchip->pit : NULL;

	if (!pit)
		return;
	hrtimer_cancel(&pit->timer);
	cancel_work_sync(&pit->irq_work);
	kfree(pit);
	vm->irqchip->pit = NULL;
}
