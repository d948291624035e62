// SPDX-License-Identifier: GPL-2.0
/*
 * vmctl and vmrun's accounting, end to end: runs /mkvm/bin/vmrun on the
 * example guests in /mkvm/examples and /mkvm/bin/vmctl next to them, and
 * checks what vmctl list, list --json, stat, watch and check say, and
 * what vmrun --stats prints.  The netlink family is minikvm's: on
 * MKVM_DEV=/dev/kvm those tests skip, and the ones that hold for KVM
 * (vmctl check names kvm_amd/kvm_intel as in the way; vmctl without the
 * module says how to load it) run instead.  $VMRUN, $VMCTL and
 * $MKVM_EXAMPLES point elsewhere for a run outside the test VM.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"

static const char *tool(const char *env, const char *def)
{
	const char *p = getenv(env);

	return p && *p ? p : def;
}

#define VMRUN	tool("VMRUN", "/mkvm/bin/vmrun")
#define VMCTL	tool("VMCTL", "/mkvm/bin/vmctl")

static const char *example(const char *name)
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

/* A child with its stdout and stderr on pipes. */
struct proc {
	pid_t pid;
	int out, err;
	size_t no, ne;
	char o[16384], e[16384];
	int status;
};

static void start(struct proc *p, const char *const *argv)
{
	int out[2], err[2];

	memset(p, 0, sizeof(*p));
	if (pipe(out) || pipe(err))
		abort();
	p->pid = fork();
	if (p->pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	p->out = out[0];
	p->err = err[0];
}

static void drain(int fd, char *buf, size_t *len, size_t size, bool *eof)
{
	char scratch[4096];
	ssize_t n;

	if (*len + 1 >= size)
		n = read(fd, scratch, sizeof(scratch));
	else
		n = read(fd, buf + *len, size - 1 - *len);
	if (n > 0 && *len + 1 < size)
		*len += n;
	if (n <= 0)
		*eof = true;
}

/*
 * Reads p's output until stdout holds @until (NULL: until both pipes
 * close) or @timeout seconds pass.  True if found (or closed).
 */
static bool wait_output(struct proc *p, const char *until, double timeout)
{
	double end = now() + timeout;
	bool eo = p->out < 0, ee = p->err < 0;

	while (!(eo && ee)) {
		struct pollfd f[2] = { { eo ? -1 : p->out, POLLIN, 0 },
				       { ee ? -1 : p->err, POLLIN, 0 } };
		int ms = (end - now()) * 1000;

		if (until && (strstr(p->o, until) || strstr(p->e, until)))
			return true;
		if (ms <= 0)
			return false;
		if (poll(f, 2, ms > 100 ? 100 : ms) <= 0)
			continue;
		if (f[0].revents)
			drain(p->out, p->o, &p->no, sizeof(p->o), &eo);
		if (f[1].revents)
			drain(p->err, p->e, &p->ne, sizeof(p->e), &ee);
	}
	return !until || strstr(p->o, until) || strstr(p->e, until);
}

/* Ends p (with @sig unless 0), collects the rest of its output. */
static void finish(struct proc *p, int sig, double timeout)
{
	int st;

	if (sig)
		kill(p->pid, sig);
	if (!wait_output(p, NULL, timeout))
		kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	close(p->out);
	close(p->err);
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv to its end (killed after 20 s). */
static void run(struct proc *p, ...)
{
	const char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, p);
	while ((argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	start(p, argv);
	finish(p, 0, 20);
}

/* The looping guest named @name in the background, once it has started. */
static void start_loop(struct __test_metadata *_metadata, struct proc *vm,
		       const char *name)
{
	const char *argv[] = { VMRUN, example("loop.cfg"), "--device",
			       mkvm_dev(), "--name", name, NULL };

	start(vm, argv);
	ASSERT_TRUE(wait_output(vm, "looping forever", 20))
		TH_LOG("vmrun: %s / %s", vm->o, vm->e);
}

#define skip_on_kvm(_metadata)						\
	do {								\
		if (mkvm_is_kvm())					\
			SKIP(return, "the minikvm netlink family belongs to minikvm"); \
	} while (0)

/* The line of @out that holds @what (a copy, without its newline). */
static char *line_with(const char *out, const char *what)
{
	static char line[512];
	const char *s = strstr(out, what), *b, *e;

	if (!s)
		return NULL;
	for (b = s; b > out && b[-1] != '\n'; b--)
		;
	e = strchr(s, '\n');
	if (!e)
		e = s + strlen(s);
	snprintf(line, sizeof(line), "%.*s", (int)(e - b), b);
	return line;
}

TEST(list_shows_a_running_named_vm)
{
	struct proc vm, ctl;
	char id[16], name[64], pid[16], vcpus[16], mem[16], res[16], state[16];
	char copy[sizeof(ctl.o)], *l;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-list");
	run(&ctl, VMCTL, "list", NULL);
	finish(&vm, SIGTERM, 10);
	/* In the log, for the eye (and README.md's example). */
	memcpy(copy, ctl.o, sizeof(copy));
	for (l = strtok(copy, "\n"); l; l = strtok(NULL, "\n"))
		fprintf(stderr, "# vmctl list: %s\n", l);
	EXPECT_EQ(0, ctl.status) TH_LOG("stderr: %s", ctl.e);
	EXPECT_NE(NULL, strstr(ctl.o, "NAME")) TH_LOG("%s", ctl.o);
	l = line_with(ctl.o, "vmctl-list");
	ASSERT_NE(NULL, l) TH_LOG("no vmctl-list in:\n%s", ctl.o);
	ASSERT_EQ(7, sscanf(l, "%15s %63s %15s %15s %15s %15s %15s", id, name,
			    pid, vcpus, mem, res, state)) TH_LOG("%s", l);
	EXPECT_STREQ("vmctl-list", name);
	EXPECT_EQ(vm.pid, atoi(pid));
	EXPECT_STREQ("1", vcpus);
	EXPECT_STREQ("2M", mem);		/* loop.cfg: memory = 2M */
	EXPECT_STREQ("running", state) TH_LOG("%s", l);
	EXPECT_NE('0', res[0]) TH_LOG("resident %s", res);
	EXPECT_EQ(128 + SIGTERM, vm.status) TH_LOG("vmrun: %s", vm.e);
}

/* Brackets and braces balance outside strings: a basic JSON check. */
static bool json_balanced(const char *s)
{
	char stack[64];
	int depth = 0;
	bool str = false;

	for (; *s; s++) {
		if (str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				str = false;
			continue;
		}
		if (*s == '"')
			str = true;
		else if (*s == '[' || *s == '{') {
			if (depth == sizeof(stack))
				return false;
			stack[depth++] = *s;
		} else if (*s == ']' || *s == '}') {
			if (!depth || stack[--depth] != (*s == ']' ? '[' : '{'))
				return false;
		}
	}
	return !str && !depth;
}

TEST(list_json_parses)
{
	struct proc vm, ctl;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-json");
	run(&ctl, VMCTL, "--json", "list", NULL);
	finish(&vm, SIGTERM, 10);
	EXPECT_EQ(0, ctl.status) TH_LOG("stderr: %s", ctl.e);
	EXPECT_EQ('[', ctl.o[0]) TH_LOG("%s", ctl.o);
	EXPECT_TRUE(json_balanced(ctl.o)) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "\"name\": \"vmctl-json\"")) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "\"memory_bytes\": 2097152")) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "\"state\": \"running\"")) TH_LOG("%s", ctl.o);
}

TEST(stat_by_name_shows_io_exits)
{
	struct proc vm, ctl, js;
	unsigned long long io = 0, io0 = 0;
	char *l;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-stat");
	run(&ctl, VMCTL, "stat", "vmctl-stat", NULL);
	run(&js, VMCTL, "--json", "stat", "vmctl-stat", NULL);
	finish(&vm, SIGTERM, 10);
	EXPECT_EQ(0, ctl.status) TH_LOG("stderr: %s", ctl.e);
	EXPECT_NE(NULL, strstr(ctl.o, "vmctl-stat")) TH_LOG("%s", ctl.o);
	/* The guest wrote its message to the UART, one port write a byte. */
	l = line_with(ctl.o, "  io ");
	ASSERT_NE(NULL, l) TH_LOG("%s", ctl.o);
	ASSERT_EQ(2, sscanf(l, " io %llu %llu", &io, &io0)) TH_LOG("%s", l);
	EXPECT_GE(io, strlen("looping forever: stop me with Ctrl-C\n"));
	EXPECT_EQ(io, io0);			/* one vCPU: all of them */
	EXPECT_EQ(0, js.status) TH_LOG("stderr: %s", js.e);
	EXPECT_TRUE(json_balanced(js.o)) TH_LOG("%s", js.o);
	EXPECT_NE(NULL, strstr(js.o, "\"vcpus\": [{\"vcpu\": 0")) TH_LOG("%s", js.o);
}

TEST(stat_unknown_vm_fails)
{
	struct proc ctl;

	skip_on_kvm(_metadata);
	run(&ctl, VMCTL, "stat", "no-such-vm", NULL);
	EXPECT_EQ(1, ctl.status);
	EXPECT_NE(NULL, strstr(ctl.e, "no VM no-such-vm")) TH_LOG("%s", ctl.e);
}

TEST(watch_sees_create_and_destroy)
{
	struct proc w, vm;
	char *l;

	skip_on_kvm(_metadata);
	{
		const char *argv[] = { VMCTL, "watch", NULL };

		start(&w, argv);
	}
	ASSERT_TRUE(wait_output(&w, "watching", 10)) TH_LOG("%s", w.e);
	run(&vm, VMRUN, example("hello.cfg"), "--device", mkvm_dev(), NULL);
	EXPECT_EQ(0, vm.status) TH_LOG("vmrun: %s", vm.e);
	wait_output(&w, "vm-destroyed", 5);
	finish(&w, SIGINT, 5);
	EXPECT_EQ(0, w.status) TH_LOG("%s", w.e);
	l = line_with(w.o, "vm-created");
	EXPECT_NE(NULL, l) TH_LOG("%s", w.o);
	if (l) {
		char pid[32];

		snprintf(pid, sizeof(pid), "pid %d ", vm.pid);
		EXPECT_NE(NULL, strstr(l, pid)) TH_LOG("%s", l);
	}
	EXPECT_NE(NULL, strstr(w.o, "vm-destroyed")) TH_LOG("%s", w.o);
	EXPECT_LT(strstr(w.o, "vm-created"), strstr(w.o, "vm-destroyed"));
}

TEST(top_shows_rates)
{
	const char *argv[] = { VMCTL, "top", "0.2", NULL };
	struct proc vm, top;
	char *l;
	double cpu = -1;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-top");
	start(&top, argv);
	/* The first screen has no rates yet; wait for a few more. */
	usleep(1500 * 1000);
	finish(&top, SIGINT, 5);
	finish(&vm, SIGTERM, 10);
	EXPECT_EQ(0, top.status) TH_LOG("%s", top.e);
	EXPECT_NE(NULL, strstr(top.o, "EXITS/s")) TH_LOG("%s", top.o);
	/* The last screen's line for the guest: it spins, so CPU% > 0. */
	l = NULL;
	for (char *s = top.o; (s = strstr(s, "vmctl-top")); s++)
		l = s;
	ASSERT_NE(NULL, l) TH_LOG("%s", top.o);
	EXPECT_EQ(1, sscanf(l, "vmctl-top %*u %*s %*s %lf%%", &cpu)) TH_LOG("%s", l);
	EXPECT_GT(cpu, 0.0) TH_LOG("%s", l);
}

TEST(check_says_usable)
{
	struct proc ctl;

	skip_on_kvm(_metadata);
	run(&ctl, VMCTL, "check", NULL);
	EXPECT_EQ(0, ctl.status) TH_LOG("%s", ctl.o);
	EXPECT_TRUE(strstr(ctl.o, "AMD SVM: yes") || strstr(ctl.o, "Intel VMX: yes"))
		TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "minikvm module:    loaded")) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "verdict:           usable")) TH_LOG("%s", ctl.o);
}

/* On the KVM run minikvm is unloaded and kvm_amd/kvm_intel holds the CPU. */
TEST(check_names_kvm_in_the_way)
{
	struct proc ctl;

	if (!mkvm_is_kvm())
		SKIP(return, "only with KVM loaded");
	run(&ctl, VMCTL, "check", NULL);
	EXPECT_EQ(1, ctl.status) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "in the way:")) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "not loaded (modprobe minikvm)")) TH_LOG("%s", ctl.o);
	EXPECT_NE(NULL, strstr(ctl.o, "NOT usable")) TH_LOG("%s", ctl.o);
}

TEST(list_without_module_says_so)
{
	struct proc ctl;

	if (!mkvm_is_kvm())
		SKIP(return, "only with minikvm unloaded");
	run(&ctl, VMCTL, "list", NULL);
	EXPECT_EQ(1, ctl.status);
	EXPECT_NE(NULL, strstr(ctl.e, "minikvm module not loaded? (modprobe minikvm)"))
		TH_LOG("%s", ctl.e);
}

TEST(vmrun_stats)
{
	struct proc vm, plain;

	skip_on_kvm(_metadata);
	run(&vm, VMRUN, example("hello.cfg"), "--device", mkvm_dev(), "--stats",
	    NULL);
	EXPECT_EQ(0, vm.status) TH_LOG("vmrun: %s", vm.e);
	EXPECT_NE(NULL, strstr(vm.e, "vmrun: hello: stats: guest time ")) TH_LOG("%s", vm.e);
	EXPECT_NE(NULL, strstr(vm.e, "resident ")) TH_LOG("%s", vm.e);
	EXPECT_NE(NULL, strstr(vm.e, "exits by reason: io ")) TH_LOG("%s", vm.e);
	EXPECT_NE(NULL, strstr(vm.e, "page tables ")) TH_LOG("%s", vm.e);
	/* Without --stats: nothing of it. */
	run(&plain, VMRUN, example("hello.cfg"), "--device", mkvm_dev(), NULL);
	EXPECT_EQ(0, plain.status) TH_LOG("vmrun: %s", plain.e);
	EXPECT_EQ(NULL, strstr(plain.e, "stats:")) TH_LOG("%s", plain.e);
}

TEST(vmrun_on_kvm_prints_no_stats)
{
	struct proc vm;

	if (!mkvm_is_kvm())
		SKIP(return, "the KVM run");
	run(&vm, VMRUN, example("hello.cfg"), "--device", mkvm_dev(), "--stats",
	    NULL);
	EXPECT_EQ(0, vm.status) TH_LOG("vmrun: %s", vm.e);
	EXPECT_EQ(NULL, strstr(vm.e, "stats:")) TH_LOG("%s", vm.e);
}

TEST_HARNESS_MAIN
