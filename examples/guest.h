/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the example guests know of vmrun's machine (guest.cfg(5)): a 16550
 * UART on COM1 and the exit port.  Every vCPU starts at the entry point
 * with RDI = its index and RSI = the number of vCPUs.
 */
#define COM1		0x3f8
#define COM1_LSR	(COM1 + 5)
#define LSR_THRE	0x20
#define EXIT_PORT	0xf4
#define EXIT_MMIO	0xd0000000	/* the same, by MMIO */
