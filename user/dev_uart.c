// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550 UART on COM1 (ports 0x3f8-0x3ff), transmit only: what the guest
 * writes to THR goes to the console.  The line is always ready to send,
 * nothing is ever received, and no interrupts are raised (vmrun has no
 * interrupt controller).
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

#define LCR_DLAB	0x80
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IIR_NO_INT	0x01
#define MSR_CTS_DSR_DCD	0xb0

static struct {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
} uart = { .lock = PTHREAD_MUTEX_INITIALIZER, .dll = 1 };

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

static void uart_io(struct vcpu *vcpu, uint16_t port, bool out, uint8_t *data,
		    unsigned int size)
{
	unsigned int reg = port - dev_uart.port;
	bool dlab;
	uint8_t v = 0;

	pthread_mutex_lock(&uart.lock);
	dlab = uart.lcr & LCR_DLAB;
	if (out) {
		switch (reg) {
		case UART_RBR_THR:
			if (dlab)
				uart.dll = data[0];
			else
				uart_out(vcpu->vm, data[0]);
			break;
		case UART_IER:
			if (dlab)
				uart.dlm = data[0];
			else
				uart.ier = data[0] & 0x0f;
			break;
		case UART_LCR:
			uart.lcr = data[0];
			break;
		case UART_MCR:
			uart.mcr = data[0] & 0x1f;
			break;
		case UART_SCR:
			uart.scr = data[0];
			break;
		default:
			break;	/* FCR, LSR, MSR: ignored */
		}
	} else {
		switch (reg) {
		case UART_RBR_THR:
			v = dlab ? uart.dll : 0;
			break;
		case UART_IER:
			v = dlab ? uart.dlm : uart.ier;
			break;
		case UART_IIR_FCR:
			v = IIR_NO_INT;
			break;
		case UART_LCR:
			v = uart.lcr;
			break;
		case UART_MCR:
			v = uart.mcr;
			break;
		case UART_LSR:
			v = LSR_THRE | LSR_TEMT;
			break;
		case UART_MSR:
			v = MSR_CTS_DSR_DCD;
			break;
		case UART_SCR:
			v = uart.scr;
			break;
		}
		data[0] = v;
		for (reg = 1; reg < size; reg++)
			data[reg] = 0xff;
	}
	pthread_mutex_unlock(&uart.lock);
}

const struct device_model dev_uart = {
	.name = "uart",
	.port = 0x3f8,
	.nr_ports = 8,
	.io = uart_io,
};
