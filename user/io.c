// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O thread: one epoll loop per VM for what is not a vCPU exit
 * (console input now; device eventfds and timers as they come).  A
 * handler runs on this thread and takes its device's lock itself.
 * io_stop() wakes the loop through an eventfd and joins it.
 *
 * Console input: with console = stdio, what arrives on standard input
 * goes to the first UART.  On a terminal, vmrun puts it in raw mode for
 * the guest's shell and gives it back on exit; Ctrl-A x stops the
 * guest, Ctrl-A Ctrl-A sends one Ctrl-A.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "vmrun.h"

#define CTRL_A		0x01

struct io_handler {
	int fd;
	void (*fn)(struct vm *vm, int fd, void *arg);
	void *arg;
	struct io_handler *next;
};

static struct termios saved_tty;
static bool tty_raw;

static void console_restore(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	tty_raw = false;
}

static void console_raw(void)
{
	struct termios t;

	if (tty_raw || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &saved_tty))
		return;
	t = saved_tty;
	cfmakeraw(&t);
	t.c_oflag |= OPOST;	/* vmrun's own messages keep their CR */
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		static bool registered;

		tty_raw = true;
		/* Once: a restarted VM comes back here. */
		if (!registered)
			atexit(console_restore);
		registered = true;
	}
}

static void console_in(struct vm *vm, int fd, void *arg)
{
	struct device *uart = arg;
	uint8_t buf[256], out[256];	/* at most UART_HELD */
	size_t i, n = 0;
	ssize_t r = read(fd, buf, sizeof(buf));

	if (r <= 0) {
		/* End of input (or an error): stop listening, keep running. */
		if (r == 0 || (errno != EINTR && errno != EAGAIN))
			epoll_ctl(vm->io.epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	for (i = 0; i < (size_t)r; i++) {
		if (vm->io.escape) {
			vm->io.escape = false;
			if (buf[i] == 'x') {
				fprintf(stderr, "\r\nvmrun: %s: Ctrl-A x: stopping the guest\r\n",
					vm->cfg->name);
				vm_stop(vm, STOP_SIGNAL, 0);
				return;
			}
			if (buf[i] != CTRL_A)
				continue;
		} else if (buf[i] == CTRL_A && tty_raw) {
			vm->io.escape = true;
			continue;
		}
		out[n++] = buf[i];
	}
	/*
	 * What the FIFO cannot take yet waits in the UART, and a pipe or
	 * file waits too.  A terminal does not (Ctrl-A x must always get
	 * through): beyond UART_HELD bytes, its input is lost.
	 */
	pthread_mutex_lock(&uart->lock);
	if (!uart_input(uart, out, n) && !tty_raw &&
	    !epoll_ctl(vm->io.epfd, EPOLL_CTL_DEL, fd, NULL))
		vm->io.console_paused = true;
	pthread_mutex_unlock(&uart->lock);
}

void io_console_resume(struct vm *vm)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = vm->io.console };

	if (vm->io.console_paused &&
	    !epoll_ctl(vm->io.epfd, EPOLL_CTL_ADD, vm->io.console->fd, &ev))
		vm->io.console_paused = false;
}

static void *io_thread(void *arg)
{
	struct vm *vm = arg;
	struct epoll_event ev[8];
	int i, n;

	for (;;) {
		n = epoll_wait(vm->io.epfd, ev, ARRAY_SIZE(ev), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < n; i++) {
			struct io_handler *h = ev[i].data.ptr;

			if (!h)		/* io_stop() */
				return NULL;
			h->fn(vm, h->fd, h->arg);
		}
	}
	fprintf(stderr, "vmrun: %s: epoll_wait: %s\n", vm->cfg->name,
		strerror(errno));
	return NULL;
}

int io_add(struct vm *vm, int fd, void (*fn)(struct vm *, int, void *),
	   void *arg)
{
	struct io_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!h)
		return -1;
	*h = (struct io_handler){ .fd = fd, .fn = fn, .arg = arg };
	ev.data.ptr = h;
	if (epoll_ctl(vm->io.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(h);
		return -1;
	}
	h->next = vm->io.handlers;
	vm->io.handlers = h;
	return 0;
}

/* The epoll set, before the devices that add to it are created. */
int io_init(struct vm *vm)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	vm->io.epfd = epoll_create1(EPOLL_CLOEXEC);
	vm->io.stopfd = eventfd(0, EFD_CLOEXEC);
	if (vm->io.epfd < 0 || vm->io.stopfd < 0 ||
	    epoll_ctl(vm->io.epfd, EPOLL_CTL_ADD, vm->io.stopfd, &ev)) {
		fprintf(stderr, "vmrun: %s: cannot set up the I/O thread: %s\n",
			vm->cfg->name, strerror(errno));
		return -1;
	}
	return 0;
}

int io_start(struct vm *vm)
{
	struct device *uart;
	int r;

	uart = dev_find(vm, &dev_uart);
	if (vm->cfg->console == CONSOLE_STDIO && uart) {
		/* Standard input may be a file or /dev/null: not pollable. */
		if (io_add(vm, STDIN_FILENO, console_in, uart) == 0) {
			vm->io.console = vm->io.handlers;
			console_raw();
		}
		else if (errno != EPERM)
			goto fail;
	}
	r = pthread_create(&vm->io.thread, NULL, io_thread, vm);
	if (r) {
		errno = r;
		goto fail;
	}
	vm->io.running = true;
	return 0;
fail:
	fprintf(stderr, "vmrun: %s: cannot start the I/O thread: %s\n",
		vm->cfg->name, strerror(errno));
	return -1;
}

void io_stop(struct vm *vm)
{
	struct io_handler *h, *next;
	uint64_t one = 1;

	if (vm->io.running) {
		if (write(vm->io.stopfd, &one, sizeof(one)) != sizeof(one))
			fprintf(stderr, "vmrun: %s: cannot stop the I/O thread: %s\n",
				vm->cfg->name, strerror(errno));
		else
			pthread_join(vm->io.thread, NULL);
		vm->io.running = false;
	}
	console_restore();
	for (h = vm->io.handlers; h; h = next) {
		next = h->next;
		free(h);
	}
	vm->io.handlers = NULL;
	vm->io.console = NULL;
	vm->io.console_paused = false;
	if (vm->io.epfd >= 0)
		close(vm->io.epfd);
	if (vm->io.stopfd >= 0)
		close(vm->io.stopfd);
	vm->io.epfd = vm->io.stopfd = -1;
}
