// SPDX-License-Identifier: GPL-2.0
/*
 * vmrun, end to end: runs /mkvm/bin/vmrun on the example guests in
 * /mkvm/examples with --device $MKVM_DEV and checks their output and exit
 * status; feeds it bad configs and checks the one-line message and the
 * status; stops a looping guest with SIGINT and SIGTERM.  $VMRUN and
 * $MKVM_EXAMPLES point elsewhere for a run outside the test VM.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"

#define STATUS_CONFIG	2
#define STATUS_CRASH	3

struct result {
	int status;		/* exit status, or 128 + signal if killed */
	bool timed_out;
	char out[16384];
	char err[16384];
};

static const char *vmrun_path(void)
{
	const char *p = getenv("VMRUN");

	return p && *p ? p : "/mkvm/bin/vmrun";
}

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

/* Appends what fd has to buf; drops what does not fit (never blocks vmrun). */
static ssize_t read_some(int fd, char *buf, size_t *len, size_t size)
{
	char scratch[4096];
	ssize_t n;

	if (*len + 1 >= size)
		return read(fd, scratch, sizeof(scratch));
	n = read(fd, buf + *len, size - 1 - *len);
	if (n > 0)
		*len += n;
	return n;
}

/*
 * Runs vmrun with args (NULL-terminated) and --device $MKVM_DEV.  When
 * sig is set, sends it once stdout holds wait_for.  Kills vmrun after
 * timeout seconds: a hang is a failure, never a stuck test.
 */
static void run(struct result *r, int sig, const char *wait_for, double timeout,
		...)
{
	const char *argv[32] = { vmrun_path() };
	int out[2], err[2], argc = 1, st;
	size_t no = 0, ne = 0;
	bool sent = false;
	double end;
	va_list ap;
	pid_t pid;

	va_start(ap, timeout);
	while ((argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc++] = "--device";
	argv[argc++] = mkvm_dev();
	argv[argc] = NULL;

	memset(r, 0, sizeof(*r));
	if (pipe(out) || pipe(err))
		abort();
	pid = fork();
	if (pid == 0) {
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
	end = now() + timeout;
	for (;;) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		int ms = (end - now()) * 1000;

		if (ms <= 0) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, ms > 200 ? 200 : ms) < 0)
			continue;
		if (p[0].revents) {
			read_some(out[0], r->out, &no, sizeof(r->out));
		}
		if (p[1].revents) {
			read_some(err[0], r->err, &ne, sizeof(r->err));
		}
		if (sig && !sent && strstr(r->out, wait_for)) {
			kill(pid, sig);
			sent = true;
		}
		if ((p[0].revents & POLLHUP) && !(p[0].revents & POLLIN) &&
		    (p[1].revents & POLLHUP) && !(p[1].revents & POLLIN))
			break;
	}
	waitpid(pid, &st, 0);
	if (r->timed_out)
		fprintf(stderr, "# vmrun killed after %.0f s; stdout:\n%s\n# stderr:\n%s\n",
			timeout, r->out, r->err);
	close(out[0]);
	close(err[0]);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

TEST(hello_long)
{
	struct result r;

	run(&r, 0, NULL, 20, example("hello.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from 64-bit long mode!\n", r.out);
	EXPECT_STREQ("", r.err);
}

TEST(hello_real)
{
	struct result r;

	run(&r, 0, NULL, 20, example("hello-real.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from real mode!\n", r.out);
	EXPECT_STREQ("", r.err);
}

TEST(hello_protected)
{
	struct result r;

	run(&r, 0, NULL, 20, example("hello-protected.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from 32-bit protected mode!\n", r.out);
	EXPECT_STREQ("", r.err);
}

TEST(hello_elf)
{
	struct result r;

	run(&r, 0, NULL, 20, example("hello-elf.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from 64-bit long mode!\n", r.out);
}

static void check_smp(struct __test_metadata *_metadata, struct result *r,
		      int n)
{
	char line[64];
	int i;

	ASSERT_FALSE(r->timed_out);
	EXPECT_EQ(0, r->status) TH_LOG("stderr: %s", r->err);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "vCPU %d of %d is up\n", i, n);
		EXPECT_EQ(1, count(r->out, line)) TH_LOG("no '%s' in:\n%s", line, r->out);
	}
	EXPECT_EQ(n, count(r->out, " is up\n"));
	snprintf(line, sizeof(line), "all %d vCPUs are up\n", n);
	EXPECT_EQ(strlen(r->out) - strlen(line), strstr(r->out, line) - r->out);
}

TEST(smp_every_vcpu_starts)
{
	struct result r;

	run(&r, 0, NULL, 20, example("smp.cfg"), NULL);
	check_smp(_metadata, &r, 4);
}

TEST(option_overrides_key)
{
	struct result r;

	run(&r, 0, NULL, 20, example("smp.cfg"), "--vcpus", "2", "--memory=64M", NULL);
	check_smp(_metadata, &r, 2);
}

TEST(guest_status_is_exit_status)
{
	struct result r;

	run(&r, 0, NULL, 20, example("status.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(42, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("exiting with status 42\n", r.out);
}

TEST(triple_fault_dumps_registers)
{
	struct result r;

	run(&r, 0, NULL, 20, example("crash.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(STATUS_CRASH, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("about to triple fault\n", r.out);
	EXPECT_NE(NULL, strstr(r.err, "vmrun: crash: vCPU 0: triple fault (KVM_EXIT_SHUTDOWN)"));
	EXPECT_NE(NULL, strstr(r.err, "rip "));
	EXPECT_NE(NULL, strstr(r.err, "cr0 "));
}

TEST(on_crash_restart_until_sigterm)
{
	struct result r;

	/* The second greeting shows a restart; SIGTERM then ends it all. */
	run(&r, SIGTERM, "fault\nabout to triple fault\n", 20, example("crash.cfg"),
	    "--on-crash", "restart", NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(128 + SIGTERM, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "crashed: restarting (on_crash = restart)"));
}

TEST(console_file_and_none)
{
	char path[] = "/tmp/vmrun_console.XXXXXX", opt[64], buf[128] = "";
	struct result r;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	snprintf(opt, sizeof(opt), "file:%s", path);
	run(&r, 0, NULL, 20, example("hello.cfg"), "--console", opt, NULL);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("", r.out);
	EXPECT_LT(0, read(fd, buf, sizeof(buf) - 1));
	EXPECT_STREQ("Hello from 64-bit long mode!\n", buf);
	close(fd);
	unlink(path);

	run(&r, 0, NULL, 20, example("hello.cfg"), "--console", "none", NULL);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("", r.out);
}

static void stop_loop(struct __test_metadata *_metadata, int sig,
		      const char *name)
{
	char msg[64];
	struct result r;

	run(&r, sig, "Ctrl-C\n", 20, example("loop.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(128 + sig, r.status) TH_LOG("stderr: %s", r.err);
	snprintf(msg, sizeof(msg), "vmrun: loop: %s: stopping the guest\n", name);
	EXPECT_STREQ(msg, r.err);
}

TEST(sigint_stops_looping_guest)
{
	stop_loop(_metadata, SIGINT, "SIGINT");
}

TEST(sigterm_stops_looping_guest)
{
	stop_loop(_metadata, SIGTERM, "SIGTERM");
}

/* Bad input: one line on stderr, holding msg; a non-zero status. */
static void bad(struct __test_metadata *_metadata, const char *cfg_text,
		const char *msg, const char *opt, const char *val)
{
	char path[] = "/tmp/vmrun_bad.XXXXXX.cfg";
	struct result r;
	int fd = mkstemps(path, 4);

	ASSERT_LE(0, fd);
	ASSERT_EQ(strlen(cfg_text), write(fd, cfg_text, strlen(cfg_text)));
	close(fd);
	if (opt)
		run(&r, 0, NULL, 20, path, opt, val, NULL);
	else
		run(&r, 0, NULL, 20, path, NULL);
	unlink(path);
	ASSERT_FALSE(r.timed_out);
	EXPECT_NE(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("", r.out);
	EXPECT_EQ(1, count(r.err, "\n")) TH_LOG("not one line: %s", r.err);
	EXPECT_NE(NULL, strstr(r.err, msg)) TH_LOG("expected '%s' in: %s", msg, r.err);
	if (strchr(msg, ':') && msg[0] == ':')
		EXPECT_NE(NULL, strstr(r.err, path)) TH_LOG("no file name in: %s", r.err);
}

static char *cfg(const char *fmt, const char *image)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), fmt, image);
	return buf;
}

TEST(bad_unknown_key)
{
	bad(_metadata, cfg("[vm]\nmemroy = 2M\n[boot]\nimage = %s\n", example("hello.bin")),
	    ":2: memroy: unknown key in section [vm]", NULL, NULL);
}

TEST(bad_unit)
{
	bad(_metadata, cfg("[vm]\nname = t\nmemory = 2Q\n[boot]\nimage = %s\n", example("hello.bin")),
	    ":3: memory: bad size '2Q'", NULL, NULL);
}

TEST(bad_memory_beyond_host)
{
	bad(_metadata, cfg("[vm]\nmemory = 1T\n[boot]\nimage = %s\n", example("hello.bin")),
	    ":2: memory: 1048576M is more than the host's", NULL, NULL);
}

TEST(bad_vcpus_beyond_device)
{
	int fd = open(mkvm_dev(), O_RDWR);
	long max;
	char text[512], msg[64];

	ASSERT_LE(0, fd);
	max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	close(fd);
	ASSERT_LT(0, max);
	snprintf(text, sizeof(text), "[vm]\nvcpus = %ld\n[boot]\nmode = long\nimage = %s\n",
		 max + 1, example("hello.bin"));
	snprintf(msg, sizeof(msg), ":2: vcpus: %ld vCPUs: ", max + 1);
	bad(_metadata, text, msg, NULL, NULL);
}

TEST(bad_missing_image)
{
	bad(_metadata, "[vm]\nmemory = 2M\n[boot]\nimage = no-such.bin\n",
	    ":4: image: /tmp/no-such.bin: No such file or directory", NULL, NULL);
}

TEST(bad_no_image_key)
{
	bad(_metadata, "[vm]\nmemory = 2M\n", ": image: missing", NULL, NULL);
}

TEST(bad_image_does_not_fit)
{
	bad(_metadata, cfg("[vm]\nmemory = 64K\n[boot]\nmode = long\nimage = %s\n", example("hello.bin")),
	    ":5: image: ", NULL, NULL);
	bad(_metadata, cfg("[vm]\nmemory = 64K\n[boot]\nmode = long\nimage = %s\n", example("hello.bin")),
	    "do not fit below 0x8000", NULL, NULL);
}

TEST(bad_elf_segment_does_not_fit)
{
	bad(_metadata, cfg("[vm]\nmemory = 64K\n[boot]\nformat = elf\nmode = long\nimage = %s\n",
			   example("hello.elf")),
	    ":6: image: ", NULL, NULL);
}

TEST(bad_wrong_format)
{
	bad(_metadata, cfg("[boot]\nformat = elf\nimage = %s\n", example("hello.bin")),
	    ":3: image: ", NULL, NULL);
	bad(_metadata, cfg("[boot]\nformat = elf\nimage = %s\n", example("hello.bin")),
	    "not an ELF file (format = elf)", NULL, NULL);
	bad(_metadata, cfg("[boot]\nimage = %s\n", example("hello.elf")),
	    "an ELF file, but format = raw", NULL, NULL);
	bad(_metadata, cfg("[boot]\nformat = coff\nimage = %s\n", example("hello.bin")),
	    ":2: format: bad format 'coff'", NULL, NULL);
}

TEST(bad_mode_and_syntax)
{
	bad(_metadata, cfg("[boot]\nimage = %s\nmode = unreal\n", example("hello.bin")),
	    ":3: mode: bad CPU mode 'unreal'", NULL, NULL);
	bad(_metadata, "[vm]\nthis is not ini\n", ":2: syntax error", NULL, NULL);
	bad(_metadata, "[vmm]\nname = x\n", ":2: name: unknown section [vmm]", NULL, NULL);
}

TEST(bad_option)
{
	bad(_metadata, cfg("[boot]\nimage = %s\n", example("hello.bin")),
	    "command line: --memory: bad size '64X'", "--memory", "64X");
	bad(_metadata, cfg("[boot]\nimage = %s\n", example("hello.bin")),
	    "command line: --colour: unknown option", "--colour", "red");
}

TEST(missing_device_hint)
{
	/* Without run(): its --device $MKVM_DEV would win. */
	{
		const char *argv[] = { vmrun_path(), example("hello.cfg"), "--device",
				       "/dev/no-such-kvm", NULL };
		int p[2], st;
		char buf[512] = "";
		pid_t pid;

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		if (!pid) {
			dup2(p[1], 2);
			execv(argv[0], (char **)argv);
			_exit(127);
		}
		close(p[1]);
		ASSERT_LT(0, read(p[0], buf, sizeof(buf) - 1));
		waitpid(pid, &st, 0);
		close(p[0]);
		EXPECT_EQ(1, WEXITSTATUS(st));
		EXPECT_STREQ("vmrun: /dev/no-such-kvm: No such file or directory (is the module loaded? try: modprobe minikvm)\n",
			     buf);
	}
}

TEST_HARNESS_MAIN
