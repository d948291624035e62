// SPDX-License-Identifier: GPL-2.0
/*
 * The PC's pair of 8259A interrupt controllers, as a PIIX or ICH south
 * bridge integrates them: the master (chip 0, ports 0x20-0x21) takes
 * IRQ 0-7 and the slave (chip 1, ports 0xa0-0xa1) IRQ 8-15, whose INT
 * output is the master's IR2 input.  The master's INT output is the
 * INTR line of the BSP's LAPIC (LINT0, ExtINT): pic->output.
 *
 * The model is the register file of each chip, struct kvm_pic_state,
 * exactly what KVM_GET/SET_IRQCHIP carry:
 * - last_irr is the level of each input line as last driven; irr is the
 *   request latch.  An edge-triggered input latches a request on a 0->1
 *   transition of its line, kept until the CPU acknowledges it; a
 *   level-triggered one (its ELCR bit set, ports 0x4d0-0x4d1) requests
 *   while its line is high.  The request of IR2 on the master is the
 *   slave's INT output, recomputed after every change.
 * - isr holds the levels in service, imr the masked ones.  Priorities
 *   rotate: level priority_add has the highest priority, the one before
 *   it the lowest.  A request interrupts the CPU if it is not masked and
 *   has a higher priority than every level in service, except in-service
 *   levels that are masked in special mask mode, and the master's IR2 in
 *   special fully nested mode.
 * - The acknowledge (INTA, or a read after a poll command) moves the
 *   request to isr, or in automatic EOI mode only rotates if asked to,
 *   and drops the latch of an edge-triggered input.  With nothing left
 *   to acknowledge the CPU reads IRQ 7 of that chip: a spurious IRQ 7,
 *   or 15 from the slave.
 *
 * As on the PIIX, ELCR alone selects edge or level (ICW1's LTIM is
 * ignored) and the pair is always cascaded (ICW1's SNGL is ignored and
 * an ICW3 is always expected; its value is the fixed wiring).  x86 mode
 * (ICW4's uPM) is assumed; buffered mode means nothing here.  ICW1 also
 * clears isr, so that a guest that reinitializes the chips after a
 * reset does not find stale levels in service.
 *
 * Locking: everything is under pic->lock [p], a spinlock innermost in
 * the lock order (irqchip.h), never taken in hard interrupt context.
 * pic->output is written under it with WRITE_ONCE() and read with
 * READ_ONCE() elsewhere; when it changes, mkvm_apic_pic_changed() runs
 * after the lock is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/kvm.h>
#include <linux/lockdep.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "minikvm.h"
#include "irqchip.h"

#define PIC_MASTER		0
#define PIC_SLAVE		1
#define PIC_CASCADE_IRQ		2	/* the master's input from the slave */
#define PIC_SPURIOUS_IRQ	7	/* what an empty acknowledge reads */
#define PIC_NO_PRIORITY		8	/* pic_priority() of no request */

/* The ports; bit 0 is the 8259A's A0 input. */
#define PIC_PORT_MASTER		0x20
#define PIC_PORT_MASTER_DATA	0x21
#define PIC_PORT_SLAVE		0xa0
#define PIC_PORT_SLAVE_DATA	0xa1
#define PIC_PORT_ELCR_MASTER	0x4d0
#define PIC_PORT_ELCR_SLAVE	0x4d1

/* ELCR bits that exist on PIIX: IRQ 0, 1, 2, 8 and 13 are edge only. */
#define PIC_ELCR_MASK_MASTER	0xf8
#define PIC_ELCR_MASK_SLAVE	0xde

/* A write with A0 = 0 is ICW1 if D4 is set, else OCW3 if D3, else OCW2. */
#define PIC_ICW1		0x10
#define PIC_ICW1_IC4		0x01	/* an ICW4 will follow */
#define PIC_ICW2_BASE_MASK	0xf8	/* T7-T3: the vector of IR0 */
#define PIC_ICW4_AEOI		0x02	/* automatic EOI */
#define PIC_ICW4_SFNM		0x10	/* special fully nested mode */
#define PIC_OCW3		0x08
#define PIC_OCW3_RIS		0x01	/* read ISR rather than IRR ... */
#define PIC_OCW3_RR		0x02	/* ... if this bit is set */
#define PIC_OCW3_POLL		0x04	/* the next read is a poll */
#define PIC_OCW3_SMM		0x20	/* special mask mode on or off ... */
#define PIC_OCW3_ESMM		0x40	/* ... if this bit is set */
#define PIC_OCW2_LEVEL		0x07	/* L2-L0 of a specific command */
#define PIC_OCW2_CMD_SHIFT	5	/* R, SL, EOI: bits 7-5 */
#define PIC_POLL_INT		0x80	/* poll word: a request was there */

/* OCW2's commands, from its R, SL and EOI bits. */
enum {
	PIC_OCW2_AEOI_ROTATE_OFF,	/* 000 */
	PIC_OCW2_EOI,			/* 001 non-specific EOI */
	PIC_OCW2_NOP,			/* 010 */
	PIC_OCW2_SPECIFIC_EOI,		/* 011 */
	PIC_OCW2_AEOI_ROTATE_ON,	/* 100 */
	PIC_OCW2_ROTATE_EOI,		/* 101 rotate on non-specific EOI */
	PIC_OCW2_SET_PRIORITY,		/* 110 level L becomes the lowest */
	PIC_OCW2_ROTATE_SPECIFIC_EOI,	/* 111 */
};

/* init_state: the initialization word the data port expects (as KVM). */
enum {
	PIC_READY,			/* none: data writes set the IMR */
	PIC_WAIT_ICW2,
	PIC_WAIT_ICW3,
	PIC_WAIT_ICW4,
};

/*
 * The priority of the highest request in @mask: 0 (the highest, level
 * priority_add) to 7, or PIC_NO_PRIORITY if @mask is empty.
 */
static int pic_priority(const struct kvm_pic_state *s, u8 mask)
{
	if (!mask)
		return PIC_NO_PRIORITY;
	return __ffs(ror8(mask, s->priority_add & 7));
}

/* The IRQ (0-7) chip @i would interrupt with now, or -1.  [p] */
static int pic_chip_irq(struct mkvm_pic *pic, int i)
{
	const struct kvm_pic_state *s = &pic->chip[i];
	u8 in_service = s->isr;
	int prio;

	prio = pic_priority(s, s->irr & ~s->imr);
	if (prio == PIC_NO_PRIORITY)
		return -1;
	/* A masked level in service blocks nothing in special mask mode. */
	if (s->special_mask)
		in_service &= ~s->imr;
	/* The slave may interrupt its own service in fully nested mode. */
	if (i == PIC_MASTER && s->special_fully_nested_mode)
		in_service &= ~BIT(PIC_CASCADE_IRQ);
	if (prio >= pic_priority(s, in_service))
		return -1;
	return (prio + s->priority_add) & 7;
}

/*
 * After any change: feed the slave's output to the master's IR2, and
 * compute the master's output.  Returns whether pic->output changed.  [p]
 */
static bool pic_update(struct mkvm_pic *pic)
{
	struct kvm_pic_state *m = &pic->chip[PIC_MASTER];
	bool out;

	lockdep_assert_held(&pic->lock);

	if (pic_chip_irq(pic, PIC_SLAVE) >= 0) {
		m->last_irr |= BIT(PIC_CASCADE_IRQ);
		m->irr |= BIT(PIC_CASCADE_IRQ);
	} else {
		m->last_irr &= ~BIT(PIC_CASCADE_IRQ);
		m->irr &= ~BIT(PIC_CASCADE_IRQ);
	}

	out = pic_chip_irq(pic, PIC_MASTER) >= 0;
	if (out == pic->output)
		return false;
	WRITE_ONCE(pic->output, out);
	return true;
}

/* Recompute the output, unlock, then tell the LAPICs if it changed. */
static void pic_unlock(struct mkvm_pic *pic)
	__releases(&pic->lock)
{
	bool changed = pic_update(pic);

	spin_unlock(&pic->lock);
	if (changed)
		mkvm_apic_pic_changed(pic->vm);
}

/* The CPU acknowledges @irq of @s: INTA, or a read after a poll.  [p] */
static void pic_ack(struct kvm_pic_state *s, int irq)
{
	/* A level-triggered request stays as long as its line is high. */
	if (!(s->elcr & BIT(irq)))
		s->irr &= ~BIT(irq);
	if (!s->auto_eoi)
		s->isr |= BIT(irq);
	else if (s->rotate_on_auto_eoi)
		s->priority_add = (irq + 1) & 7;
}

/* ICW1: start the initialization sequence.  [p] */
static void pic_write_icw1(struct kvm_pic_state *s, u8 val)
{
	s->init4 = !!(val & PIC_ICW1_IC4);
	s->init_state = PIC_WAIT_ICW2;
	/* The edge detectors restart: only a new 0->1 transition requests. */
	s->irr &= s->elcr;
	s->isr = 0;
	s->imr = 0;
	s->priority_add = 0;		/* IR7 gets the lowest priority */
	s->special_mask = 0;
	s->read_reg_select = 0;		/* status reads return IRR */
	s->poll = 0;
	s->rotate_on_auto_eoi = 0;
	/* Without an ICW4, what it would select is cleared. */
	if (!s->init4) {
		s->auto_eoi = 0;
		s->special_fully_nested_mode = 0;
	}
}

/* OCW2: EOIs and priority rotation.  [p] */
static void pic_write_ocw2(struct kvm_pic_state *s, u8 val)
{
	int irq = val & PIC_OCW2_LEVEL;
	int prio;

	switch (val >> PIC_OCW2_CMD_SHIFT) {
	case PIC_OCW2_AEOI_ROTATE_OFF:
		s->rotate_on_auto_eoi = 0;
		break;
	case PIC_OCW2_AEOI_ROTATE_ON:
		s->rotate_on_auto_eoi = 1;
		break;
	case PIC_OCW2_EOI:
	case PIC_OCW2_ROTATE_EOI:
		/* The highest-priority level in service ends. */
		prio = pic_priority(s, s->isr);
		if (prio == PIC_NO_PRIORITY)
			break;
		irq = (prio + s->priority_add) & 7;
		s->isr &= ~BIT(irq);
		if (val >> PIC_OCW2_CMD_SHIFT == PIC_OCW2_ROTATE_EOI)
			s->priority_add = (irq + 1) & 7;
		break;
	case PIC_OCW2_SPECIFIC_EOI:
		s->isr &= ~BIT(irq);
		break;
	case PIC_OCW2_SET_PRIORITY:
		s->priority_add = (irq + 1) & 7;
		break;
	case PIC_OCW2_ROTATE_SPECIFIC_EOI:
		s->isr &= ~BIT(irq);
		s->priority_add = (irq + 1) & 7;
		break;
	default:			/* PIC_OCW2_NOP */
		break;
	}
}

/* OCW3: what the next reads return, and special mask mode.  [p] */
static void pic_write_ocw3(struct kvm_pic_state *s, u8 val)
{
	if (val & PIC_OCW3_POLL)
		s->poll = 1;
	if (val & PIC_OCW3_RR)
		s->read_reg_select = !!(val & PIC_OCW3_RIS);
	if (val & PIC_OCW3_ESMM)
		s->special_mask = !!(val & PIC_OCW3_SMM);
}

/* A write with A0 = 1: an ICW of the sequence under way, or OCW1.  [p] */
static void pic_write_data(struct kvm_pic_state *s, u8 val)
{
	switch (s->init_state) {
	case PIC_WAIT_ICW2:
		s->irq_base = val & PIC_ICW2_BASE_MASK;
		s->init_state = PIC_WAIT_ICW3;
		break;
	case PIC_WAIT_ICW3:
		/* Which input has a slave, or the slave's id: fixed on a PC. */
		s->init_state = s->init4 ? PIC_WAIT_ICW4 : PIC_READY;
		break;
	case PIC_WAIT_ICW4:
		s->auto_eoi = !!(val & PIC_ICW4_AEOI);
		s->special_fully_nested_mode = !!(val & PIC_ICW4_SFNM);
		s->init_state = PIC_READY;
		break;
	default:
		s->imr = val;
		break;
	}
}

/* A write with A0 = 0: ICW1, OCW2 or OCW3.  [p] */
static void pic_write_cmd(struct kvm_pic_state *s, u8 val)
{
	if (val & PIC_ICW1)
		pic_write_icw1(s, val);
	else if (val & PIC_OCW3)
		pic_write_ocw3(s, val);
	else
		pic_write_ocw2(s, val);
}

/*
 * A read of chip @i: after a poll command, the acknowledge of its
 * highest request (bit 7 set and the level in bits 2-0, or 0 if none);
 * else IMR (A0 = 1), or IRR or ISR as OCW3 selected.  [p]
 */
static u8 pic_read(struct mkvm_pic *pic, int i, bool data)
{
	struct kvm_pic_state *s = &pic->chip[i];
	int irq;

	if (s->poll) {
		s->poll = 0;
		irq = pic_chip_irq(pic, i);
		if (irq < 0)
			return 0;
		pic_ack(s, irq);
		return PIC_POLL_INT | irq;
	}
	if (data)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}

/* ELCR: a pin made level-triggered requests while its line is high.  [p] */
static void pic_write_elcr(struct kvm_pic_state *s, u8 val)
{
	u8 to_level = val & s->elcr_mask & ~s->elcr;

	s->elcr = val & s->elcr_mask;
	s->irr = (s->irr & ~to_level) | (s->last_irr & to_level);
}

void mkvm_pic_init(struct mkvm_pic *pic, struct mkvm_vm *vm)
{
	spin_lock_init(&pic->lock);
	pic->vm = vm;
	memset(pic->chip, 0, sizeof(pic->chip));
	pic->chip[PIC_MASTER].elcr_mask = PIC_ELCR_MASK_MASTER;
	pic->chip[PIC_SLAVE].elcr_mask = PIC_ELCR_MASK_SLAVE;
	pic->output = false;
}

/*
 * Drive input @irq (0-15) to @level.  IRQ 2 is the cascade, driven by
 * the slave alone: driving it from outside does nothing (no PC wires a
 * device there; KVM's VMMs route no GSI to it).  Returns 1 if a new
 * request was latched on an unmasked input, 0 if the input is masked or
 * the request was already there (or, on an edge-triggered input, the
 * line was already high); lowering an unmasked line returns 1, as KVM.
 */
int mkvm_pic_set_irq(struct mkvm_pic *pic, int irq, int level)
{
	struct kvm_pic_state *s;
	u8 bit;
	int ret;

	if (irq < 0 || irq >= 16 || irq == PIC_CASCADE_IRQ)
		return 0;
	s = &pic->chip[irq >> 3];
	bit = BIT(irq & 7);

	/*
	 * The status KVM_IRQ_LINE_STATUS reports, as KVM's: 0 for a request
	 * already pending (coalesced), -1 for a masked pin, else 1.
	 */
	ret = 1;
	spin_lock(&pic->lock);
	if (level) {
		if ((s->elcr & bit) || !(s->last_irr & bit)) {
			ret = !(s->irr & bit);
			s->irr |= bit;
		}
		s->last_irr |= bit;
	} else {
		if (s->elcr & bit)
			s->irr &= ~bit;
		s->last_irr &= ~bit;
	}
	if (s->imr & bit)
		ret = -1;
	pic_unlock(pic);
	return ret;
}

int mkvm_pic_read_irq(struct mkvm_pic *pic)
{
	struct kvm_pic_state *master = &pic->chip[PIC_MASTER];
	struct kvm_pic_state *slave = &pic->chip[PIC_SLAVE];
	int irq, vector;

	spin_lock(&pic->lock);
	irq = pic_chip_irq(pic, PIC_MASTER);
	if (irq < 0) {
		vector = master->irq_base + PIC_SPURIOUS_IRQ;
	} else if (irq != PIC_CASCADE_IRQ) {
		pic_ack(master, irq);
		vector = master->irq_base + irq;
	} else {
		pic_ack(master, irq);
		irq = pic_chip_irq(pic, PIC_SLAVE);
		if (irq < 0)
			irq = PIC_SPURIOUS_IRQ;
		else
			pic_ack(slave, irq);
		vector = slave->irq_base + irq;
	}
	pic_unlock(pic);
	return vector;
}

int mkvm_pic_pio(struct mkvm_pic *pic, u16 port, bool in, u8 *val)
{
	struct kvm_pic_state *s;
	int i;

	switch (port) {
	case PIC_PORT_MASTER:
	case PIC_PORT_MASTER_DATA:
		i = PIC_MASTER;
		break;
	case PIC_PORT_SLAVE:
	case PIC_PORT_SLAVE_DATA:
		i = PIC_SLAVE;
		break;
	case PIC_PORT_ELCR_MASTER:
	case PIC_PORT_ELCR_SLAVE:
		s = &pic->chip[port == PIC_PORT_ELCR_SLAVE];
		spin_lock(&pic->lock);
		if (in)
			*val = s->elcr;
		else
			pic_write_elcr(s, *val);
		pic_unlock(pic);
		return 0;
	default:
		return -ENOENT;
	}

	s = &pic->chip[i];
	spin_lock(&pic->lock);
	if (in)
		*val = pic_read(pic, i, port & 1);
	else if (port & 1)
		pic_write_data(s, *val);
	else
		pic_write_cmd(s, *val);
	pic_unlock(pic);
	return 0;
}

void mkvm_pic_get_state(struct mkvm_pic *pic, int chip,
			struct kvm_pic_state *s)
{
	if (chip != PIC_MASTER && chip != PIC_SLAVE) {
		memset(s, 0, sizeof(*s));
		return;
	}
	spin_lock(&pic->lock);
	*s = pic->chip[chip];
	spin_unlock(&pic->lock);
}

/*
 * Load one chip.  Fields are brought into their ranges; elcr_mask is
 * the chipset's, not userspace's, and bounds elcr.
 */
int mkvm_pic_set_state(struct mkvm_pic *pic, int chip,
		       const struct kvm_pic_state *s)
{
	struct kvm_pic_state *d;

	if (chip != PIC_MASTER && chip != PIC_SLAVE)
		return -EINVAL;
	d = &pic->chip[chip];

	spin_lock(&pic->lock);
	d->last_irr = s->last_irr;
	d->irr = s->irr;
	d->imr = s->imr;
	d->isr = s->isr;
	d->priority_add = s->priority_add & 7;
	d->irq_base = s->irq_base & PIC_ICW2_BASE_MASK;
	d->read_reg_select = !!s->read_reg_select;
	d->poll = !!s->poll;
	d->special_mask = !!s->special_mask;
	d->init_state = s->init_state;
	if (d->init_state > PIC_WAIT_ICW4)
		d->init_state = PIC_READY;
	d->auto_eoi = !!s->auto_eoi;
	d->rotate_on_auto_eoi = !!s->rotate_on_auto_eoi;
	d->special_fully_nested_mode = !!s->special_fully_nested_mode;
	d->init4 = !!s->init4;
	d->elcr = s->elcr & d->elcr_mask;
	pic_unlock(pic);
	return 0;
}
