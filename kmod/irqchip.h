/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel interrupt controller (KVM_CREATE_IRQCHIP): a local APIC
 * per vCPU (lapic.c), one IOAPIC with 24 pins (ioapic.c), the 8259A pair
 * (pic.c), and the GSI routing between them and KVM's VM ioctls (irq.c).
 *
 * Who owns what:
 * - A LAPIC's register page (struct kvm_lapic_state's layout) belongs to
 *   its vCPU's thread [v], but for IRR and the pending INIT/SIPI/timer
 *   bits, which any thread sets with atomic bit operations before it
 *   wakes the vCPU (mkvm_apic_wake()).  Only the vCPU's thread moves a
 *   vector from IRR to ISR, so an interrupt is injected by the vCPU that
 *   takes it, as in KVM.
 * - The IOAPIC and the PIC pair are state machines behind one spinlock
 *   each.  They deliver by setting IRR bits (IOAPIC) or raising their
 *   output line (PIC) and kicking, never by waiting: both may be called
 *   from any vCPU, from KVM_IRQ_LINE, and (IOAPIC) from a LAPIC's EOI.
 *
 * Legend: [p] pic->lock, [o] ioapic->lock, [i] vm->irq_lock, [v] and [a]
 * as in minikvm.h.  Each pic.c and ioapic.c function takes its chip's
 * lock itself: callers hold none of them.
 *
 * Lock order: vm->irq_lock (mutex: routing, creation of the chips) ->
 * ioapic.lock -> pic.lock.  No irqchip lock is taken in hard interrupt
 * context: the LAPIC timer's hrtimer only sets a bit and kicks.
 */
#ifndef MKVM_IRQCHIP_H
#define MKVM_IRQCHIP_H

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct mkvm_vm;
struct mkvm_vcpu;
struct mkvm_pit;

#define MKVM_IOAPIC_PINS	KVM_IOAPIC_NUM_PINS	/* 24 */
#define MKVM_IOAPIC_BASE	0xfec00000ULL		/* default base */
#define MKVM_IOAPIC_SIZE	0x100
#define MKVM_NR_GSIS		1024	/* GSIs a routing table may name */
#define MKVM_MAX_IRQ_ROUTES	4096	/* KVM_MAX_IRQ_ROUTES */

/*
 * An interrupt message to local APICs, from the IOAPIC, an MSI or an
 * IPI: the fields of an ICR or of a redirection entry.
 */
enum mkvm_irq_source {
	MKVM_IRQ_SRC_LINE,	/* an IOAPIC pin or the PIC */
	MKVM_IRQ_SRC_TIMER,	/* the LAPIC's timer (and its other LVTs) */
	MKVM_IRQ_SRC_IPI,
	MKVM_IRQ_SRC_MSI,
	MKVM_IRQ_SRC_NR,
};

struct mkvm_apic_irq {
	u32 dest;		/* APIC id, or logical destination */
	u32 delivery;		/* APIC_DM_FIXED ... APIC_DM_EXTINT */
	u32 shorthand;		/* 0 or APIC_DEST_SELF ... APIC_DEST_ALLBUT */
	u8 vector;
	bool logical;		/* destination mode */
	bool level;		/* trigger mode is level */
	u8 source;		/* enum mkvm_irq_source, for accounting */
};

/* The 8259A pair: master (chip 0) and slave (chip 1), on IRQ 2. */
struct mkvm_pic {
	spinlock_t lock;			/* [p]: the chips' state */
	struct mkvm_vm *vm;			/* [I] */
	/* The state of each chip, as KVM_GET_IRQCHIP gives it: [p]. */
	struct kvm_pic_state chip[2];
	bool output;			/* [p] INTR to the BSP; READ_ONCE outside */
};

/* The IOAPIC: 24 pins, redirection table, its MMIO window. */
struct mkvm_ioapic {
	spinlock_t lock;			/* [o]: all of the IOAPIC's state */
	struct mkvm_vm *vm;			/* [I] */
	u64 base;				/* [o] */
	u32 ioregsel;				/* [o] */
	u32 id;					/* [o] bits 27:24 of IOAPICID */
	u32 irr;				/* [o] pins asserted, pending */
	u32 level;				/* [o] line level of each pin */
	u64 redir[MKVM_IOAPIC_PINS];		/* [o] redirection entries */
};

/* One routing entry (KVM_SET_GSI_ROUTING): an irqchip pin or an MSI. */
struct mkvm_irq_route {
	u32 gsi;
	u32 type;			/* KVM_IRQ_ROUTING_IRQCHIP or _MSI */
	union {
		struct {
			u32 chip;	/* KVM_IRQCHIP_PIC_MASTER ... _IOAPIC */
			u32 pin;
		} irqchip;
		struct {
			u64 address;
			u32 data;
		} msi;
	};
};

/* A routing table, replaced as a whole under RCU. */
struct mkvm_irq_routing {
	struct rcu_head rcu;
	u32 nr;
	struct mkvm_irq_route route[];	/* sorted by gsi */
};

/*
 * Per VM, from KVM_CREATE_IRQCHIP (or KVM_CAP_SPLIT_IRQCHIP) on; freed
 * with the VM.  Split, only the LAPICs are the kernel's: the PIC, the
 * IOAPIC and the PIT are userspace's, which raises IOAPIC pins as MSI
 * routes on GSIs 0 to nr_ioapic_pins - 1, hands the PIC's vector over
 * with KVM_INTERRUPT and hears of the EOIs of level-triggered ones as
 * KVM_EXIT_IOAPIC_EOI; pic and ioapic are then unused.
 */
struct mkvm_irqchip {
	bool split;				/* [I] */
	u32 nr_ioapic_pins;			/* [I] split: GSIs of the IOAPIC */
	struct mkvm_pic pic;
	struct mkvm_ioapic ioapic;
	struct mkvm_irq_routing __rcu *routing;	/* [i] written, RCU read */
	struct mkvm_pit *pit;		/* [i] set once (pit.c), acquire to read */
};

/*
 * The local APIC of one vCPU.  regs is the architectural page (only its
 * first KVM_APIC_REG_SIZE bytes mean anything).
 */
struct mkvm_lapic {
	struct mkvm_vcpu *vcpu;			/* [I] */
	u8 *regs;				/* [v], IRR [a] */
	struct hrtimer timer;			/* [v] armed, [a] fired */
	u64 timer_period_ns;			/* [v] 0: one-shot */
	ktime_t timer_target;			/* [v] */
	u64 tsc_deadline;			/* [v] IA32_TSC_DEADLINE */
	/* MKVM_APIC_* bits, set by any thread. */
	unsigned long pending;			/* [a] */
	u8 sipi_vector;				/* [a] with MKVM_APIC_SIPI */
	bool sw_enabled;			/* [v] SVR bit 8 */
	bool irr_pending;			/* [v] a hint, see lapic.c */
	u64 vapic_addr;				/* [v] KVM_SET_VAPIC_ADDR's, 0: off */
	/*
	 * Split irqchip: the PIC's vector that KVM_INTERRUPT handed over,
	 * waiting for LINT0 to take it as ExtINT.  Userspace's PIC ran its
	 * INTA cycle already, so, as in KVM, an INIT does not drop it.
	 */
	bool extint_pending;			/* [v] */
	u8 extint_vector;			/* [v] */
};

int mkvm_lapic_set_vapic_addr(struct mkvm_vcpu *vcpu, u64 gpa);
void mkvm_lapic_vapic_out(struct mkvm_vcpu *vcpu);
void mkvm_lapic_vapic_in(struct mkvm_vcpu *vcpu);

#define MKVM_APIC_TIMER		0	/* the timer fired */
#define MKVM_APIC_INIT		1	/* an INIT arrived */
#define MKVM_APIC_SIPI		2	/* a SIPI arrived (sipi_vector) */
#define MKVM_APIC_NMI		3	/* an NMI arrived */

/* pic.c, all under pic->lock. */
void mkvm_pic_init(struct mkvm_pic *pic, struct mkvm_vm *vm);
/* As KVM: 1 if raised (or lowered), 0 if coalesced, -1 if masked. */
int mkvm_pic_set_irq(struct mkvm_pic *pic, int irq, int level);
/* The INTA cycle: the vector to deliver (spurious IRQ 7/15 if none). */
int mkvm_pic_read_irq(struct mkvm_pic *pic);
/* 0, or -ENOENT if @port is not the PIC's (0x20-1, 0xa0-1, 0x4d0-1). */
int mkvm_pic_pio(struct mkvm_pic *pic, u16 port, bool in, u8 *val);
void mkvm_pic_get_state(struct mkvm_pic *pic, int chip,
			struct kvm_pic_state *s);
int mkvm_pic_set_state(struct mkvm_pic *pic, int chip,
		       const struct kvm_pic_state *s);

/* ioapic.c, all under ioapic->lock. */
void mkvm_ioapic_init(struct mkvm_ioapic *ioapic, struct mkvm_vm *vm);
int mkvm_ioapic_set_irq(struct mkvm_ioapic *ioapic, int pin, int level);
/* A LAPIC's EOI of a level-triggered @vector. */
void mkvm_ioapic_eoi(struct mkvm_ioapic *ioapic, u8 vector);
bool mkvm_ioapic_in_range(struct mkvm_ioapic *ioapic, u64 gpa);
/* An access of 1, 2, 4 or 8 bytes at @gpa (mkvm_ioapic_in_range()). */
void mkvm_ioapic_mmio(struct mkvm_ioapic *ioapic, u64 gpa, void *data,
		      unsigned int len, bool write);
void mkvm_ioapic_get_state(struct mkvm_ioapic *ioapic,
			   struct kvm_ioapic_state *s);
int mkvm_ioapic_set_state(struct mkvm_ioapic *ioapic,
			  const struct kvm_ioapic_state *s);

/* lapic.c */
int mkvm_lapic_create(struct mkvm_vcpu *vcpu);
void mkvm_lapic_free(struct mkvm_vcpu *vcpu);
void mkvm_lapic_reset(struct mkvm_vcpu *vcpu, bool init);
/*
 * Deliver @irq to the LAPICs it names (@src: the sender, for IPI
 * shorthands; NULL from the IOAPIC and MSIs).  Never sleeps.  Returns
 * the number of LAPICs that accepted it (0 if none, as KVM).
 */
int mkvm_apic_deliver(struct mkvm_vm *vm, struct mkvm_vcpu *src,
		      const struct mkvm_apic_irq *irq);
/* Split: whether the LAPIC would take a vector from KVM_INTERRUPT now. */
bool mkvm_lapic_accepts_extint(struct mkvm_vcpu *vcpu);
/*
 * KVM_INTERRUPT with a LAPIC: split, the PIC's @vector waits for LINT0
 * (-EEXIST if one waits already); -ENXIO with the in-kernel PIC.
 */
int mkvm_lapic_set_extint(struct mkvm_vcpu *vcpu, u8 vector);
/* The PIC's output changed: the LAPIC that takes ExtINT re-evaluates. */
void mkvm_apic_pic_changed(struct mkvm_vm *vm);
/* Kick @vcpu and wake it if it sleeps in HLT or waits for SIPI. */
void mkvm_apic_wake(struct mkvm_vcpu *vcpu);
/* Whether @gpa is this vCPU's xAPIC page; and the access itself. */
bool mkvm_lapic_mmio_in_range(struct mkvm_vcpu *vcpu, u64 gpa);
void mkvm_lapic_mmio(struct mkvm_vcpu *vcpu, u64 gpa, void *data,
		     unsigned int len, bool write);
/* x2APIC MSRs 0x800-0x8ff and IA32_TSC_DEADLINE; 1 if #GP. */
int mkvm_lapic_rdmsr(struct mkvm_vcpu *vcpu, u32 msr, u64 *data);
int mkvm_lapic_wrmsr(struct mkvm_vcpu *vcpu, u32 msr, u64 data);
/* IA32_APIC_BASE; 1 if the value is refused (#GP, or -EINVAL). */
int mkvm_lapic_set_base(struct mkvm_vcpu *vcpu, u64 value, bool host);
/* The interrupt to inject now, acked (IRR -> ISR), or -1. */
int mkvm_lapic_ack_interrupt(struct mkvm_vcpu *vcpu);
/* An interrupt waits that the guest could take if RFLAGS.IF allowed. */
bool mkvm_lapic_has_interrupt(struct mkvm_vcpu *vcpu);
/*
 * Before an entry: timer, INIT and SIPI become state.  Returns whether
 * the vCPU may run (not waiting for SIPI).
 */
bool mkvm_lapic_accept_events(struct mkvm_vcpu *vcpu);
/* Whether a halted or waiting vCPU has something to wake up for. */
bool mkvm_lapic_wakeup_pending(struct mkvm_vcpu *vcpu);
int mkvm_lapic_get_state(struct mkvm_vcpu *vcpu, struct kvm_lapic_state *s);
int mkvm_lapic_set_state(struct mkvm_vcpu *vcpu,
			 const struct kvm_lapic_state *s);
void mkvm_lapic_after_set_cpuid(struct mkvm_vcpu *vcpu);
u64 mkvm_lapic_get_cr8(struct mkvm_vcpu *vcpu);
void mkvm_lapic_set_cr8(struct mkvm_vcpu *vcpu, u64 cr8);

/* irq.c: the VM's irqchip ioctls, routing, GSIs and MSIs. */
long mkvm_irqchip_ioctl(struct mkvm_vm *vm, unsigned int ioctl,
			void __user *argp);
/* KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, @pins). */
long mkvm_irqchip_enable_split(struct mkvm_vm *vm, u64 pins);
/* Split: whether @vcpu's EOI of level @vector goes to userspace's IOAPIC. */
bool mkvm_irq_eoi_exits(struct mkvm_vcpu *vcpu, u8 vector);
/* An MSI's address and data as an interrupt message (source MSI). */
void mkvm_msi_to_irq(u64 address, u32 data, struct mkvm_apic_irq *irq);
void mkvm_irqchip_free(struct mkvm_vm *vm);
int mkvm_irq_set(struct mkvm_vm *vm, u32 gsi, int level);
/* An MSI-only GSI pulsed from atomic context, or -EWOULDBLOCK. */
int mkvm_irq_pulse_inatomic(struct mkvm_vm *vm, u32 gsi);
bool mkvm_irq_routes_to(struct mkvm_vm *vm, u32 gsi, u32 chip, u32 pin);

/* pit.c: the i8254 (KVM_CREATE_PIT2), GSI 0. */
long mkvm_pit_ioctl(struct mkvm_vm *vm, struct mkvm_irqchip *chip,
		    unsigned int ioctl, void __user *argp);
/* 0, or -ENOENT if @port is not the PIT's (0x40-0x43, 0x61 if ours). */
int mkvm_pit_pio(struct mkvm_irqchip *chip, u16 port, bool in, u8 *val);
/* Stop and free the PIT: before the vCPUs are freed. */
void mkvm_pit_free(struct mkvm_vm *vm);

/* eventfd.c: irqfd and ioeventfd. */
long mkvm_irqfd(struct mkvm_vm *vm, void __user *argp);
long mkvm_ioeventfd(struct mkvm_vm *vm, void __user *argp);
void mkvm_irqfd_ack(struct mkvm_vm *vm, u32 chip, u32 pin);
bool mkvm_ioeventfd_write(struct mkvm_vm *vm, bool pio, u64 addr,
			  unsigned int len, u64 val);
void mkvm_eventfd_vm_init(struct mkvm_vm *vm);
void mkvm_eventfd_vm_release(struct mkvm_vm *vm);
int mkvm_eventfd_init(void);
void mkvm_eventfd_exit(void);
int mkvm_msi_deliver(struct mkvm_vm *vm, u64 address, u32 data);
/* In-kernel port IO (PIC) for @vcpu's VM: 0 handled, -ENOENT if not. */
int mkvm_irqchip_pio(struct mkvm_vcpu *vcpu, u16 port, bool in,
		     unsigned int size, void *data);
/* In-kernel MMIO (LAPIC, IOAPIC): 0 handled, -ENOENT if not ours. */
int mkvm_irqchip_mmio(struct mkvm_vcpu *vcpu, u64 gpa, void *data,
		      unsigned int len, bool write);

#endif /* MKVM_IRQCHIP_H */
