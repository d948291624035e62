/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel irqchip (KVM_CREATE_IRQCHIP): local APIC, I/O APIC and
 * their registers, seen from the guest (xAPIC MMIO, x2APIC MSRs, I/O APIC
 * MMIO) and from the host (KVM_GET/SET_LAPIC, KVM_IRQ_LINE, routing).
 *
 * Every paging mode of vm_create() identity-maps the first 4 GiB (x86.h),
 * so the xAPIC page at 0xfee00000 and the I/O APIC at 0xfec00000 are
 * mapped in the guest: neither is a memory slot, so an access is
 * emulated MMIO, which the irqchip claims.  The accessors use one plain
 * MOV each (inline asm), the instruction an MMIO decoder must handle,
 * whatever the compiler would have made of a volatile access.
 */
#ifndef MKVM_LIB_APIC_H
#define MKVM_LIB_APIC_H

#include <stdint.h>
#include <linux/kvm.h>

#include "guest.h"
#include "vm.h"

/* Local APIC: the default base and register offsets (SDM vol. 3 ch. 11). */
#define APIC_DEFAULT_GPA	0xfee00000UL
#define APIC_ID			0x20
#define APIC_LVR		0x30
#define APIC_LVR_DIRECTED_EOI	(1U << 24)
#define APIC_TASKPRI		0x80
#define APIC_PROCPRI		0xa0
#define APIC_EOI		0xb0
#define APIC_LDR		0xd0
#define APIC_DFR		0xe0
#define APIC_SPIV		0xf0
#define APIC_ISR		0x100
#define APIC_TMR		0x180
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_ICR		0x300
#define APIC_ICR2		0x310
#define APIC_LVTT		0x320
#define APIC_LVTTHMR		0x330
#define APIC_LVTPC		0x340
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_LVTERR		0x370
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define APIC_SELF_IPI		0x3f0	/* x2APIC only */

#define APIC_SPIV_ENABLE	(1U << 8)
#define APIC_LVT_MASKED		(1U << 16)
#define APIC_LVT_TIMER_ONESHOT	(0U << 17)
#define APIC_LVT_TIMER_PERIODIC	(1U << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2U << 17)
#define APIC_DM_FIXED		(0U << 8)
#define APIC_DM_NMI		(4U << 8)
#define APIC_DM_INIT		(5U << 8)
#define APIC_DM_STARTUP		(6U << 8)
#define APIC_DM_EXTINT		(7U << 8)
#define APIC_ICR_BUSY		(1U << 12)	/* delivery status */
#define APIC_INT_ASSERT		(1U << 14)
#define APIC_INT_LEVELTRIG	(1U << 15)
#define APIC_DEST_SELF		(1U << 18)
#define APIC_DEST_ALLINC	(2U << 18)
#define APIC_DEST_ALLBUT	(3U << 18)
#define APIC_TDCR_DIV1		0xb

#define MSR_IA32_APICBASE	0x1b
#define MSR_IA32_APICBASE_BSP	(1UL << 8)
#define MSR_IA32_APICBASE_EXTD	(1UL << 10)	/* x2APIC mode */
#define MSR_IA32_APICBASE_ENABLE (1UL << 11)
#define MSR_IA32_TSC_DEADLINE	0x6e0
/* The x2APIC MSR of an xAPIC register offset. */
#define X2APIC_MSR(reg)		(0x800 + ((reg) >> 4))

#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)

/* I/O APIC (82093AA): default base, index/data window, registers. */
#define IOAPIC_DEFAULT_GPA	0xfec00000UL
#define IOAPIC_IOREGSEL		0x00
#define IOAPIC_IOWIN		0x10
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))	/* low; +1 high */
#define IOAPIC_NUM_PINS		24
#define IOAPIC_RTE_LEVEL	(1U << 15)
#define IOAPIC_RTE_REMOTE_IRR	(1U << 14)
#define IOAPIC_RTE_MASKED	(1U << 16)

/* ---- guest side ------------------------------------------------------- */

static inline uint32_t mmio_read32(uint64_t gpa)
{
	uint32_t v;

	asm volatile("movl (%1), %0" : "=r"(v) : "r"(gpa) : "memory");
	return v;
}

static inline void mmio_write32(uint64_t gpa, uint32_t v)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(gpa) : "memory");
}

static inline uint32_t xapic_read(unsigned int reg)
{
	return mmio_read32(APIC_DEFAULT_GPA + reg);
}

static inline void xapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(APIC_DEFAULT_GPA + reg, v);
}

static inline uint64_t x2apic_read(unsigned int reg)
{
	return guest_rdmsr(X2APIC_MSR(reg));
}

static inline void x2apic_write(unsigned int reg, uint64_t v)
{
	guest_wrmsr(X2APIC_MSR(reg), v);
}

static inline uint32_t ioapic_read(unsigned int reg)
{
	mmio_write32(IOAPIC_DEFAULT_GPA + IOAPIC_IOREGSEL, reg);
	return mmio_read32(IOAPIC_DEFAULT_GPA + IOAPIC_IOWIN);
}

static inline void ioapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(IOAPIC_DEFAULT_GPA + IOAPIC_IOREGSEL, reg);
	mmio_write32(IOAPIC_DEFAULT_GPA + IOAPIC_IOWIN, v);
}

/* Whether @vector is set in the 256-bit register at @reg (IRR, ISR, TMR). */
static inline int xapic_vector_bit(unsigned int reg, uint8_t vector)
{
	return (xapic_read(reg + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

/* ---- host side -------------------------------------------------------- */

/* A vm_create() VM with KVM_CREATE_IRQCHIP done (before any vCPU). */
static inline struct vm *vm_create_irqchip(void)
{
	struct vm *vm = vm_create();

	kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
	return vm;
}

/* Register @reg of a kvm_lapic_state. */
static inline uint32_t lapic_reg(const struct kvm_lapic_state *s,
				 unsigned int reg)
{
	uint32_t v;

	memcpy(&v, &s->regs[reg], 4);
	return v;
}

static inline void lapic_set_reg(struct kvm_lapic_state *s, unsigned int reg,
				 uint32_t v)
{
	memcpy(&s->regs[reg], &v, 4);
}

/*
 * KVM_IRQ_LINE_STATUS: returns the ioctl's result (0 or -errno) and the
 * line's status in *status (> 0 delivered to that many vCPUs, 0
 * coalesced, < 0 ignored).
 */
static inline int __vm_irq_line_status(struct vm *vm, uint32_t irq,
				       uint32_t level, int32_t *status)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };
	int r = __mkvm_ioctl(vm->fd, KVM_IRQ_LINE_STATUS, (unsigned long)&l);

	*status = l.status;
	return r;
}

#endif /* MKVM_LIB_APIC_H */
