// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART (COM1 is ports 0x3f8-0x3ff, IRQ 4).  What the guest
 * writes to THR goes to the console at once, so the transmitter is
 * always empty; what uart_input() hands it (the console's input) waits
 * in a 16-byte receive FIFO, and what the FIFO has no room for waits in
 * vmrun (at most UART_HELD bytes) while the console's input pauses, so
 * a pipe loses nothing and a terminal's paste nothing up to UART_HELD
 * bytes (a terminal is never paused, for Ctrl-A x): the guest's reads
 * make room.  A guest that clears the FIFO drops the bytes in it, and
 * what vmrun held behind them refills it.  Its interrupt (receive data,
 * line status, transmitter empty, as IER enables them) drives the
 * device's line when MCR's OUT2 gates it on, as on a PC, through
 * dev_irq_set(); without an in-kernel irqchip nothing hears it and
 * guests poll.  No modem status
 * changes, no loopback, no baud rate: the divisor is only stored.
 */
#include <errno.h>
#include <unistd.h>

#include "vmrun.h"

#define UART_RBR_THR	0	/* DLAB=1: divisor latch low */
#define UART_IER	1	/* DLAB=1: divisor latch high */
#define UART_IIR_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_OUT2	0x08
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS_DSR_DCD	0xb0

#define RX_FIFO		16

struct uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri;		/* a transmitter-empty interrupt is pending */
	bool overrun;		/* LSR.OE until LSR is read */
	bool irq;		/* the line's level, as last driven */
	uint8_t rx[RX_FIFO];
	unsigned int rx_head, rx_count;
	/* Input waiting for room in rx: a ring, as rx is. */
	uint8_t held[UART_HELD];
	unsigned int held_head, held_count;
};

static void uart_out(struct vm *vm, uint8_t c)
{
	ssize_t r;

	if (vm->console_fd < 0)
		return;
	/* A kick (EINTR) while stopping: give up on a blocked console. */
	do
		r = write(vm->console_fd, &c, 1);
	while (r < 0 && errno == EINTR && !vm_stopping(vm));
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t uart_iir(const struct uart *u)
{
	if ((u->ier & IER_RLSI) && u->overrun)
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri)
		return IIR_THRI;
	return IIR_NO_INT;
}

static void uart_update_irq(struct device *dev)
{
	struct uart *u = dev->priv;
	bool level = uart_iir(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);

	if (level != u->irq) {
		u->irq = level;
		dev_irq_set(dev, level);
	}
}

/*
 * Moves held input into the FIFO as far as it has room; once none is
 * held, the console may send more.
 */
static void uart_refill(struct device *dev)
{
	struct uart *u = dev->priv;

	if (!u->held_count)
		return;
	while (u->held_count && u->rx_count < RX_FIFO) {
		u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] =
			u->held[u->held_head];
		u->held_head = (u->held_head + 1) % UART_HELD;
		u->held_count--;
	}
	if (!u->held_count)
		io_console_resume(dev->vm);
}

/*
 * Called with dev->lock held.  False when some of buf is held back: the
 * caller pauses its input until uart_refill() resumes it.  Only bytes
 * beyond UART_HELD, which a paused caller never sends, are lost.
 */
bool uart_input(struct device *dev, const uint8_t *buf, size_t n)
{
	struct uart *u = dev->priv;
	size_t room;

	for (; n && u->rx_count < RX_FIFO; n--, buf++)
		u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = *buf;
	room = UART_HELD - u->held_count;
	if (n > room) {
		u->overrun = true;
		n = room;
	}
	for (; n; n--, buf++)
		u->held[(u->held_head + u->held_count++) % UART_HELD] = *buf;
	uart_update_irq(dev);
	return !u->held_count;
}

static uint8_t uart_read(struct device *dev, unsigned int reg)
{
	struct uart *u = dev->priv;
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v = 0;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			return u->dll;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % RX_FIFO;
			u->rx_count--;
			uart_refill(dev);
		}
		break;
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR_FCR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a transmitter-empty interrupt. */
		if (v == IIR_THRI)
			u->thri = false;
		if (u->fcr & FCR_ENABLE)
			v |= IIR_FIFO;
		break;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) |
		    (u->overrun ? LSR_OE : 0);
		u->overrun = false;
		break;
	case UART_MSR:
		return MSR_CTS_DSR_DCD;
	case UART_SCR:
		return u->scr;
	}
	return v;
}

static void uart_write(struct device *dev, unsigned int reg, uint8_t v)
{
	struct uart *u = dev->priv;
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab) {
			u->dll = v;
			return;
		}
		uart_out(dev->vm, v);
		u->thri = true;		/* sent at once: empty again */
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			return;
		}
		/* Enabling it with the transmitter empty raises it. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thri = true;
		u->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		u->fcr = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX || !(v & FCR_ENABLE)) {
			u->rx_count = 0;
			uart_refill(dev);
		}
		break;
	case UART_LCR:
		u->lcr = v;
		return;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		return;
	default:
		return;	/* LSR, MSR: read-only */
	}
}

static void uart_pio(struct device *dev, struct vcpu *vcpu, uint64_t port,
		     bool out, uint8_t *data, unsigned int size)
{
	unsigned int i, reg = port - dev->base;

	if (out) {
		uart_write(dev, reg, data[0]);
	} else {
		data[0] = uart_read(dev, reg);
		for (i = 1; i < size; i++)
			data[i] = 0xff;
	}
	uart_update_irq(dev);
}

static int uart_init(struct device *dev)
{
	return dev_add_pio(dev, dev->base, 8);
}

static void uart_reset(struct device *dev)
{
	*(struct uart *)dev->priv = (struct uart){ .dll = 1 };
}

const struct device_class dev_uart = {
	.name = "uart",
	.priv_size = sizeof(struct uart),
	.init = uart_init,
	.reset = uart_reset,
	.pio = uart_pio,
};
