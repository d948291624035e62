// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O APIC: 24 interrupt pins, each with a 64-bit redirection entry
 * that turns an assertion into an interrupt message to local APICs.
 * The model is an 82093AA of version 0x11, as KVM's: it has no EOI
 * register (version 0x20 and later have one at offset 0x40), so a
 * level-triggered pin's remote IRR is cleared by the EOI broadcast of
 * the LAPIC that took it (mkvm_ioapic_eoi()), or by the guest writing
 * the entry as edge-triggered, which Linux does for I/O APICs without
 * an EOI register.
 *
 * The MMIO window at ioapic->base (0xfec00000 by default) holds the
 * register select (IOREGSEL, offset 0x00) and the data window (IOWIN,
 * offset 0x10).  Through them: the ID (register 0), the version (1:
 * 0x11, and the last redirection entry, 23, in bits 23-16), the
 * arbitration id (2, equal to the ID, which loads it) and the
 * redirection table (0x10 + 2 * pin: bits 31-0, then bits 63-32).  An
 * access is normally 4 bytes at IOREGSEL or IOWIN; any other access
 * reads and writes the byte lanes of those two registers that it
 * covers (a write merges into the register's value) and reads zeros
 * elsewhere.  Delivery status (bit 12) always reads 0: a message leaves
 * at once.  Remote IRR (bit 14) is the IOAPIC's alone.  Reserved bits
 * read 0; polarity (bit 13) is kept but means nothing, as a line's
 * level here is "asserted" or not.
 *
 * Pins: ioapic->level is each pin's line as last driven.  A pin whose
 * entry is level-triggered has its irr bit set while its line is
 * asserted, and sends its message whenever it is asserted, unmasked and
 * its remote IRR is clear; a message that reaches a LAPIC sets remote
 * IRR, until the EOI.  An edge-triggered pin sends its message on a
 * 0->1 transition of its line, if it is unmasked; an edge on a masked
 * pin only sets its irr bit, until the line falls (the 82093AA drops
 * such edges; unmasking does not deliver them).  Only fixed and
 * lowest-priority messages can be level-triggered: SMI, NMI, INIT and
 * ExtINT are always edge-triggered, whatever the entry's trigger bit.
 *
 * Locking: everything is under ioapic->lock [o], a spinlock taken
 * before pic->lock if both ever are, never in hard interrupt context.
 * mkvm_apic_deliver() never sleeps and takes no irqchip lock, so
 * messages are sent under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/kernel.h>
#include <linux/kvm.h>
#include <linux/lockdep.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <asm/apicdef.h>

#include "minikvm.h"
#include "irqchip.h"

#define IOAPIC_VERSION		0x11	/* 82093AA, no EOI register */
#define IOAPIC_MAX_REDIR_SHIFT	16	/* VER bits 23-16: last entry */

/* The MMIO window. */
#define IOAPIC_REGSEL		0x00
#define IOAPIC_WINDOW		0x10
#define IOAPIC_REGSEL_MASK	0xff	/* bits 31-8 are reserved */

/* The registers behind IOWIN, by IOREGSEL. */
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDIR	0x10	/* two per pin: bits 31-0, 63-32 */
#define IOAPIC_ID_SHIFT		24	/* ID and ARB: bits 27-24 */
#define IOAPIC_ID_MASK		0xf

/*
 * A redirection entry: bits 16-0 are laid out as in a LAPIC's LVT and
 * ICR entries, the destination is in bits 63-56.
 */
#define RTE_VECTOR		APIC_VECTOR_MASK
#define RTE_DELIVERY_MODE	APIC_DM_FIXED_MASK
#define RTE_LOGICAL		APIC_DEST_LOGICAL
#define RTE_DELIVERY_STATUS	APIC_SEND_PENDING
#define RTE_POLARITY		APIC_INPUT_POLARITY
#define RTE_REMOTE_IRR		APIC_LVT_REMOTE_IRR
#define RTE_LEVEL		APIC_INT_LEVELTRIG
#define RTE_MASKED		APIC_LVT_MASKED
#define RTE_DEST_SHIFT		56
#define RTE_DEST		GENMASK_ULL(63, RTE_DEST_SHIFT)
/* What the guest may write; remote IRR and delivery status are RO. */
#define RTE_WRITABLE		(RTE_VECTOR | RTE_DELIVERY_MODE | \
				 RTE_LOGICAL | RTE_POLARITY | RTE_LEVEL | \
				 RTE_MASKED | RTE_DEST)

#define IOAPIC_PIN_MASK		GENMASK(MKVM_IOAPIC_PINS - 1, 0)

/* Whether @e makes its pin level-triggered (see the top of the file). */
static bool ioapic_entry_level(u64 e)
{
	u32 mode = e & RTE_DELIVERY_MODE;

	return (e & RTE_LEVEL) &&
	       (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST);
}

/*
 * Send @pin's message.  A level-triggered one that reached a LAPIC sets
 * remote IRR.  Returns mkvm_apic_deliver()'s count of LAPICs that took
 * it, or -1 if none was named (or the delivery mode is reserved).  [o]
 */
static int ioapic_deliver(struct mkvm_ioapic *ioapic, int pin)
{
	u64 *e = &ioapic->redir[pin];
	struct mkvm_apic_irq irq = {
		.dest = *e >> RTE_DEST_SHIFT,
		.delivery = *e & RTE_DELIVERY_MODE,
		.vector = *e & RTE_VECTOR,
		.logical = !!(*e & RTE_LOGICAL),
		.level = ioapic_entry_level(*e),
	};
	int r;

	lockdep_assert_held(&ioapic->lock);

	/* 011 and 110 are reserved: no LAPIC takes such a message. */
	if (irq.delivery == APIC_DM_REMRD || irq.delivery == APIC_DM_STARTUP)
		return -1;
	r = mkvm_apic_deliver(ioapic->vm, NULL, &irq);
	if (r > 0 && irq.level)
		*e |= RTE_REMOTE_IRR;
	return r;
}

/*
 * Send @pin's message if it is due: a level-triggered pin asserted,
 * unmasked, with remote IRR clear.  Returns 1 if a LAPIC took it, 0 if
 * it is masked or coalesced, -1 if it reached no LAPIC.  [o]
 */
static int ioapic_service(struct mkvm_ioapic *ioapic, int pin)
{
	u64 e = ioapic->redir[pin];
	int r;

	if (!(ioapic->irr & BIT(pin)))
		return 0;
	/* As KVM: a masked pin, or one still in service, is ignored. */
	if (e & (RTE_MASKED | RTE_REMOTE_IRR))
		return -1;
	r = ioapic_deliver(ioapic, pin);
	return r > 0 ? 1 : r;
}

/* The value of the register IOREGSEL selects.  [o] */
static u32 ioapic_read_reg(struct mkvm_ioapic *ioapic)
{
	u32 reg = ioapic->ioregsel;
	u64 e;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return ioapic->id << IOAPIC_ID_SHIFT;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION |
		       ((MKVM_IOAPIC_PINS - 1) << IOAPIC_MAX_REDIR_SHIFT);
	}
	if (reg < IOAPIC_REG_REDIR ||
	    reg >= IOAPIC_REG_REDIR + 2 * MKVM_IOAPIC_PINS)
		return 0;
	e = ioapic->redir[(reg - IOAPIC_REG_REDIR) / 2];
	return reg & 1 ? upper_32_bits(e) : lower_32_bits(e);
}

/*
 * Write half of @pin's redirection entry (@high: bits 63-32).  Writing
 * it as edge-triggered clears remote IRR; changing whether the pin is
 * level-triggered makes irr follow; and a level-triggered pin that is
 * now due (e.g. just unmasked, its line asserted) sends its message.  [o]
 */
static void ioapic_write_redir(struct mkvm_ioapic *ioapic, int pin,
			       bool high, u32 val)
{
	u64 old = ioapic->redir[pin];
	u64 e;

	if (high)
		e = (old & GENMASK_ULL(31, 0)) | (u64)val << 32;
	else
		e = (old & GENMASK_ULL(63, 32)) | val;
	e = (e & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
	if (!(e & RTE_LEVEL))
		e &= ~(u64)RTE_REMOTE_IRR;
	ioapic->redir[pin] = e;

	if (ioapic_entry_level(e) != ioapic_entry_level(old)) {
		if (ioapic_entry_level(e))
			ioapic->irr = (ioapic->irr & ~BIT(pin)) |
				      (ioapic->level & BIT(pin));
		else
			ioapic->irr &= ~BIT(pin);
	}
	if (ioapic_entry_level(e))
		ioapic_service(ioapic, pin);
}

/* A write to the register IOREGSEL selects.  [o] */
static void ioapic_write_reg(struct mkvm_ioapic *ioapic, u32 val)
{
	u32 reg = ioapic->ioregsel;

	switch (reg) {
	case IOAPIC_REG_ID:
		ioapic->id = (val >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
		return;
	case IOAPIC_REG_VERSION:
	case IOAPIC_REG_ARB:
		return;				/* read-only */
	}
	if (reg < IOAPIC_REG_REDIR ||
	    reg >= IOAPIC_REG_REDIR + 2 * MKVM_IOAPIC_PINS)
		return;
	ioapic_write_redir(ioapic, (reg - IOAPIC_REG_REDIR) / 2, reg & 1,
			   val);
}

/* The 32-bit MMIO register at @off (IOREGSEL or IOWIN).  [o] */
static u32 ioapic_mmio_read(struct mkvm_ioapic *ioapic, u64 off)
{
	if (off == IOAPIC_REGSEL)
		return ioapic->ioregsel;
	return ioapic_read_reg(ioapic);
}

static void ioapic_mmio_write(struct mkvm_ioapic *ioapic, u64 off, u32 val)
{
	if (off == IOAPIC_REGSEL)
		ioapic->ioregsel = val & IOAPIC_REGSEL_MASK;
	else
		ioapic_write_reg(ioapic, val);
}

void mkvm_ioapic_init(struct mkvm_ioapic *ioapic, struct mkvm_vm *vm)
{
	int pin;

	spin_lock_init(&ioapic->lock);
	ioapic->vm = vm;
	ioapic->base = MKVM_IOAPIC_BASE;
	ioapic->ioregsel = 0;
	ioapic->id = 0;
	ioapic->irr = 0;
	ioapic->level = 0;
	/* After reset every pin is masked. */
	for (pin = 0; pin < MKVM_IOAPIC_PINS; pin++)
		ioapic->redir[pin] = RTE_MASKED;
}

/*
 * Drive @pin's line to @level.  Returns 1 if the message reached a
 * LAPIC; as KVM, -1 if the pin is masked or still in service (remote
 * IRR set), or if the message reached no LAPIC; lowering a line
 * returns 1, as KVM.
 */
int mkvm_ioapic_set_irq(struct mkvm_ioapic *ioapic, int pin, int level)
{
	u32 bit;
	int r, ret;

	if (pin < 0 || pin >= MKVM_IOAPIC_PINS)
		return 0;
	bit = BIT(pin);

	spin_lock(&ioapic->lock);
	if (!level) {
		ioapic->level &= ~bit;
		ioapic->irr &= ~bit;
		ret = 1;
	} else if (ioapic_entry_level(ioapic->redir[pin])) {
		ioapic->level |= bit;
		ioapic->irr |= bit;
		ret = ioapic_service(ioapic, pin);
	} else {
		/*
		 * Edge: as KVM's, every assertion is an edge, also from a
		 * line already high (a VMM that never lowers it).
		 */
		ioapic->level |= bit;
		if (ioapic->redir[pin] & RTE_MASKED) {
			ioapic->irr |= bit;
			ret = -1;
		} else {
			r = ioapic_deliver(ioapic, pin);
			ret = r > 0 ? 1 : r;
		}
	}
	spin_unlock(&ioapic->lock);
	return ret;
}

void mkvm_ioapic_eoi(struct mkvm_ioapic *ioapic, u8 vector)
{
	unsigned long pins = 0;
	int pin;

	spin_lock(&ioapic->lock);
	for (pin = 0; pin < MKVM_IOAPIC_PINS; pin++) {
		u64 e = ioapic->redir[pin];

		if ((e & RTE_VECTOR) == vector && (e & RTE_REMOTE_IRR))
			pins |= BIT(pin);
	}
	spin_unlock(&ioapic->lock);
	if (!pins)
		return;
	/*
	 * A resample irqfd routed to the pin lowers its line first, outside
	 * the lock (it takes vm->irq_lock), so that the pin is not served
	 * again for a request the device model has not renewed.
	 */
	for_each_set_bit(pin, &pins, MKVM_IOAPIC_PINS)
		mkvm_irqfd_ack(ioapic->vm, KVM_IRQCHIP_IOAPIC, pin);

	spin_lock(&ioapic->lock);
	for_each_set_bit(pin, &pins, MKVM_IOAPIC_PINS) {
		u64 *e = &ioapic->redir[pin];

		if ((*e & RTE_VECTOR) != vector || !(*e & RTE_REMOTE_IRR))
			continue;
		*e &= ~(u64)RTE_REMOTE_IRR;
		/* Still asserted: the interrupt comes again. */
		if (ioapic_entry_level(*e))
			ioapic_service(ioapic, pin);
	}
	spin_unlock(&ioapic->lock);
}

bool mkvm_ioapic_in_range(struct mkvm_ioapic *ioapic, u64 gpa)
{
	bool in;

	spin_lock(&ioapic->lock);
	in = gpa >= ioapic->base && gpa - ioapic->base < MKVM_IOAPIC_SIZE;
	spin_unlock(&ioapic->lock);
	return in;
}

void mkvm_ioapic_mmio(struct mkvm_ioapic *ioapic, u64 gpa, void *data,
		      unsigned int len, bool write)
{
	static const u64 regs[] = { IOAPIC_REGSEL, IOAPIC_WINDOW };
	u8 *bytes = data;
	unsigned int i, r;
	u64 off, lane;
	bool hit;
	u32 val;

	if (!write)
		memset(data, 0, len);

	spin_lock(&ioapic->lock);
	off = gpa - ioapic->base;
	/* Each register the access covers, in address order. */
	for (r = 0; r < ARRAY_SIZE(regs); r++) {
		hit = false;
		val = ioapic_mmio_read(ioapic, regs[r]);
		for (i = 0; i < len; i++) {
			lane = off + i - regs[r];
			if (lane >= 4)
				continue;
			hit = true;
			if (write) {
				val &= ~(0xffU << (8 * lane));
				val |= (u32)bytes[i] << (8 * lane);
			} else {
				bytes[i] = val >> (8 * lane);
			}
		}
		if (write && hit)
			ioapic_mmio_write(ioapic, regs[r], val);
	}
	spin_unlock(&ioapic->lock);
}

void mkvm_ioapic_get_state(struct mkvm_ioapic *ioapic,
			   struct kvm_ioapic_state *s)
{
	int pin;

	memset(s, 0, sizeof(*s));
	spin_lock(&ioapic->lock);
	s->base_address = ioapic->base;
	s->ioregsel = ioapic->ioregsel;
	s->id = ioapic->id;
	s->irr = ioapic->irr;
	for (pin = 0; pin < MKVM_IOAPIC_PINS; pin++)
		s->redirtbl[pin].bits = ioapic->redir[pin];
	spin_unlock(&ioapic->lock);
}

/*
 * Load the state; reserved bits are dropped.  A pin in irr has its line
 * asserted (struct kvm_ioapic_state has no line levels), and what is
 * due is sent, as KVM does: a level-triggered pin unmasked with remote
 * IRR clear, and an unmasked edge-triggered pin that was pending.
 */
int mkvm_ioapic_set_state(struct mkvm_ioapic *ioapic,
			  const struct kvm_ioapic_state *s)
{
	int pin;
	u64 e;

	spin_lock(&ioapic->lock);
	ioapic->base = s->base_address;
	ioapic->ioregsel = s->ioregsel & IOAPIC_REGSEL_MASK;
	ioapic->id = s->id & IOAPIC_ID_MASK;
	ioapic->irr = s->irr & IOAPIC_PIN_MASK;
	ioapic->level = ioapic->irr;
	for (pin = 0; pin < MKVM_IOAPIC_PINS; pin++) {
		e = s->redirtbl[pin].bits & (RTE_WRITABLE | RTE_REMOTE_IRR);
		if (!(e & RTE_LEVEL))
			e &= ~(u64)RTE_REMOTE_IRR;
		ioapic->redir[pin] = e;
	}
	for (pin = 0; pin < MKVM_IOAPIC_PINS; pin++) {
		e = ioapic->redir[pin];
		if (!(ioapic->irr & BIT(pin)))
			continue;
		if (ioapic_entry_level(e)) {
			ioapic_service(ioapic, pin);
		} else if (!(e & RTE_MASKED)) {
			ioapic->irr &= ~BIT(pin);
			ioapic_deliver(ioapic, pin);
		}
	}
	spin_unlock(&ioapic->lock);
	return 0;
}
