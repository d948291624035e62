/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running the user tools (vmrun, vmctl) from a test: a child with its
 * stdout and stderr on pipes, read without ever blocking it, and killed
 * at a time limit so that a hang fails the test instead of wedging it.
 */
#ifndef MKVM_LIB_RUN_H
#define MKVM_LIB_RUN_H

#include <stdbool.h>
#include <sys/types.h>

struct mkvm_proc {
	pid_t pid;
	int out_fd, err_fd;	/* -1 once at EOF or closed */
	size_t out_len, err_len;
	char out[16384];	/* what fits of stdout, NUL-terminated */
	char err[16384];	/* the same of stderr */
	int status;		/* exit status, or 128 + signal if killed */
	bool timed_out;		/* SIGKILLed at the time limit */
};

/* The tool at $@env, else at @def (its path in the test VM). */
const char *mkvm_tool(const char *env, const char *def);

/* The example file @name in $MKVM_EXAMPLES, else in /mkvm/examples. */
const char *mkvm_example(const char *name);

/* Start argv[0] with @argv (NULL-terminated), stdin /dev/null. */
void mkvm_start(struct mkvm_proc *p, const char *const *argv);
/* The same with stdin a pipe whose write end goes to *@in. */
void mkvm_start_input(struct mkvm_proc *p, const char *const *argv, int *in);

/*
 * Read p's output until stdout holds @until (NULL: until both pipes
 * close) or @timeout seconds pass.  True if found (or closed).
 */
bool mkvm_wait_output(struct mkvm_proc *p, const char *until, double timeout);

/*
 * End p: send @sig unless 0, read the rest of its output for @timeout
 * seconds, then SIGKILL it (timed_out) if it is still there; reap it
 * and set status.
 */
void mkvm_finish(struct mkvm_proc *p, int sig, double timeout);

/*
 * Run @argv to its end within @timeout seconds; with @sig, send it once
 * stdout holds @until.
 */
void mkvm_run(struct mkvm_proc *p, int sig, const char *until,
	      double timeout, const char *const *argv);

#endif /* MKVM_LIB_RUN_H */
