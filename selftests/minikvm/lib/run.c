// SPDX-License-Identifier: GPL-2.0
/*
 * Running the user tools from a test (see run.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "run.h"

const char *mkvm_tool(const char *env, const char *def)
{
	const char *p = getenv(env);

	return p && *p ? p : def;
}

const char *mkvm_example(const char *name)
{
	static char path[8][256];
	static int n;
	const char *dir = getenv("MKVM_EXAMPLES");
	char *p = path[n++ % 8];

	snprintf(p, 256, "%s/%s", dir && *dir ? dir : "/mkvm/examples", name);
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void mkvm_start_input(struct mkvm_proc *p, const char *const *argv, int *in)
{
	int out[2], err[2], inp[2] = { -1, -1 };

	memset(p, 0, sizeof(*p));
	if (pipe(out) || pipe(err) || (in && pipe(inp)))
		abort();
	p->pid = fork();
	if (p->pid == 0) {
		/* Never the test's terminal: a tool could take it over. */
		int null = open("/dev/null", O_RDONLY);

		dup2(in ? inp[0] : null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		if (in)
			close(inp[1]);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (in) {
		close(inp[0]);
		*in = inp[1];
	}
	p->out_fd = out[0];
	p->err_fd = err[0];
}

void mkvm_start(struct mkvm_proc *p, const char *const *argv)
{
	mkvm_start_input(p, argv, NULL);
}

/* Appends what *fd has to buf; drops what does not fit (never blocks p). */
static void read_some(int *fd, char *buf, size_t *len, size_t size)
{
	char scratch[4096];
	ssize_t n;

	if (*len + 1 >= size)
		n = read(*fd, scratch, sizeof(scratch));
	else
		n = read(*fd, buf + *len, size - 1 - *len);
	if (n > 0 && *len + 1 < size)
		*len += n;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
	}
}

bool mkvm_wait_output(struct mkvm_proc *p, const char *until, double timeout)
{
	double end = now() + timeout;

	while (p->out_fd >= 0 || p->err_fd >= 0) {
		struct pollfd f[2] = { { p->out_fd, POLLIN, 0 },
				       { p->err_fd, POLLIN, 0 } };
		int ms = (end - now()) * 1000;

		if (until && strstr(p->out, until))
			return true;
		if (ms <= 0)
			return false;
		if (poll(f, 2, ms > 100 ? 100 : ms) <= 0)
			continue;
		if (f[0].revents)
			read_some(&p->out_fd, p->out, &p->out_len, sizeof(p->out));
		if (f[1].revents)
			read_some(&p->err_fd, p->err, &p->err_len, sizeof(p->err));
	}
	return !until || strstr(p->out, until);
}

void mkvm_finish(struct mkvm_proc *p, int sig, double timeout)
{
	int st;

	if (sig)
		kill(p->pid, sig);
	if (!mkvm_wait_output(p, NULL, timeout)) {
		kill(p->pid, SIGKILL);
		p->timed_out = true;
	}
	waitpid(p->pid, &st, 0);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->out_fd = p->err_fd = -1;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void mkvm_run(struct mkvm_proc *p, int sig, const char *until,
	      double timeout, const char *const *argv)
{
	double end = now() + timeout;

	mkvm_start(p, argv);
	if (sig && mkvm_wait_output(p, until, timeout))
		kill(p->pid, sig);
	mkvm_finish(p, 0, end - now());
}
