// SPDX-License-Identifier: GPL-2.0
/*
 * vmrun, end to end: runs /mkvm/bin/vmrun on the example guests in
 * /mkvm/examples with --device $MKVM_DEV and checks their output and exit
 * status; feeds it bad configs and checks the one-line message and the
 * status; stops a looping guest with SIGINT and SIGTERM.  $VMRUN and
 * $MKVM_EXAMPLES point elsewhere for a run outside the test VM.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"
#include "lib/run.h"

#define STATUS_CONFIG	2
#define STATUS_CRASH	3

#define VMRUN	mkvm_tool("VMRUN", "/mkvm/bin/vmrun")

/*
 * Runs vmrun with args (NULL-terminated) and --device $MKVM_DEV.  When
 * sig is set, sends it once stdout holds wait_for.  Kills vmrun after
 * timeout seconds: a hang is a failure, never a stuck test.
 */
static void run(struct mkvm_proc *r, int sig, const char *wait_for,
		double timeout, ...)
{
	const char *argv[32] = { VMRUN };
	int argc = 1;
	va_list ap;

	va_start(ap, timeout);
	while ((argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc++] = "--device";
	argv[argc++] = mkvm_dev();
	argv[argc] = NULL;

	mkvm_run(r, sig, wait_for, timeout, argv);
	if (r->timed_out)
		fprintf(stderr, "# vmrun killed after %.0f s; stdout:\n%s\n# stderr:\n%s\n",
			timeout, r->out, r->err);
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
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("hello.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from 64-bit long mode!\n", r.out);
	EXPECT_STREQ("", r.err);
}

TEST(hello_real)
{
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("hello-real.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from real mode!\n", r.out);
	EXPECT_STREQ("", r.err);
}

TEST(hello_protected)
{
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("hello-protected.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from 32-bit protected mode!\n", r.out);
	EXPECT_STREQ("", r.err);
}

TEST(hello_elf)
{
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("hello-elf.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("Hello from 64-bit long mode!\n", r.out);
}

static void check_smp(struct __test_metadata *_metadata, struct mkvm_proc *r,
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
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("smp.cfg"), NULL);
	check_smp(_metadata, &r, 4);
}

TEST(option_overrides_key)
{
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("smp.cfg"), "--vcpus", "2", "--memory=64M", NULL);
	check_smp(_metadata, &r, 2);
}

TEST(guest_status_is_exit_status)
{
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("status.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(42, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("exiting with status 42\n", r.out);
}

TEST(triple_fault_dumps_registers)
{
	struct mkvm_proc r;

	run(&r, 0, NULL, 20, mkvm_example("crash.cfg"), NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(STATUS_CRASH, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("about to triple fault\n", r.out);
	EXPECT_NE(NULL, strstr(r.err, "vmrun: crash: vCPU 0: triple fault (KVM_EXIT_SHUTDOWN)"));
	EXPECT_NE(NULL, strstr(r.err, "rip "));
	EXPECT_NE(NULL, strstr(r.err, "cr0 "));
}

TEST(on_crash_restart_until_sigterm)
{
	struct mkvm_proc r;

	/* The second greeting shows a restart; SIGTERM then ends it all. */
	run(&r, SIGTERM, "fault\nabout to triple fault\n", 20, mkvm_example("crash.cfg"),
	    "--on-crash", "restart", NULL);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(128 + SIGTERM, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "crashed: restarting (on_crash = restart)"));
}

TEST(console_file_and_none)
{
	char path[] = "/tmp/vmrun_console.XXXXXX", opt[64], buf[128] = "";
	struct mkvm_proc r;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	snprintf(opt, sizeof(opt), "file:%s", path);
	run(&r, 0, NULL, 20, mkvm_example("hello.cfg"), "--console", opt, NULL);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("", r.out);
	EXPECT_LT(0, read(fd, buf, sizeof(buf) - 1));
	EXPECT_STREQ("Hello from 64-bit long mode!\n", buf);
	close(fd);
	unlink(path);

	run(&r, 0, NULL, 20, mkvm_example("hello.cfg"), "--console", "none", NULL);
	EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
	EXPECT_STREQ("", r.out);
}

static void stop_loop(struct __test_metadata *_metadata, int sig,
		      const char *name)
{
	char msg[64];
	struct mkvm_proc r;

	run(&r, sig, "Ctrl-C\n", 20, mkvm_example("loop.cfg"), NULL);
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
	struct mkvm_proc r;
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
	bad(_metadata, cfg("[vm]\nmemroy = 2M\n[boot]\nimage = %s\n", mkvm_example("hello.bin")),
	    ":2: memroy: unknown key in section [vm]", NULL, NULL);
}

TEST(bad_unit)
{
	bad(_metadata, cfg("[vm]\nname = t\nmemory = 2Q\n[boot]\nimage = %s\n", mkvm_example("hello.bin")),
	    ":3: memory: bad size '2Q'", NULL, NULL);
}

TEST(bad_memory_beyond_host)
{
	bad(_metadata, cfg("[vm]\nmemory = 1T\n[boot]\nimage = %s\n", mkvm_example("hello.bin")),
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
		 max + 1, mkvm_example("hello.bin"));
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
	bad(_metadata, cfg("[vm]\nmemory = 64K\n[boot]\nmode = long\nimage = %s\n", mkvm_example("hello.bin")),
	    ":5: image: ", NULL, NULL);
	bad(_metadata, cfg("[vm]\nmemory = 64K\n[boot]\nmode = long\nimage = %s\n", mkvm_example("hello.bin")),
	    "do not fit below 0x8000", NULL, NULL);
}

TEST(bad_elf_segment_does_not_fit)
{
	bad(_metadata, cfg("[vm]\nmemory = 64K\n[boot]\nformat = elf\nmode = long\nimage = %s\n",
			   mkvm_example("hello.elf")),
	    ":6: image: ", NULL, NULL);
}

TEST(bad_wrong_format)
{
	bad(_metadata, cfg("[boot]\nformat = elf\nimage = %s\n", mkvm_example("hello.bin")),
	    ":3: image: ", NULL, NULL);
	bad(_metadata, cfg("[boot]\nformat = elf\nimage = %s\n", mkvm_example("hello.bin")),
	    "not an ELF file (format = elf)", NULL, NULL);
	bad(_metadata, cfg("[boot]\nimage = %s\n", mkvm_example("hello.elf")),
	    "an ELF file, but format = raw", NULL, NULL);
	bad(_metadata, cfg("[boot]\nformat = coff\nimage = %s\n", mkvm_example("hello.bin")),
	    ":2: format: bad format 'coff'", NULL, NULL);
}

TEST(bad_mode_and_syntax)
{
	bad(_metadata, cfg("[boot]\nimage = %s\nmode = unreal\n", mkvm_example("hello.bin")),
	    ":3: mode: bad CPU mode 'unreal'", NULL, NULL);
	bad(_metadata, "[vm]\nthis is not ini\n", ":2: syntax error", NULL, NULL);
	bad(_metadata, "[vmm]\nname = x\n", ":2: name: unknown section [vmm]", NULL, NULL);
}

TEST(bad_option)
{
	bad(_metadata, cfg("[boot]\nimage = %s\n", mkvm_example("hello.bin")),
	    "command line: --memory: bad size '64X'", "--memory", "64X");
	bad(_metadata, cfg("[boot]\nimage = %s\n", mkvm_example("hello.bin")),
	    "command line: --colour: unknown option", "--colour", "red");
}

TEST(missing_device_hint)
{
	/* Without run(): its --device $MKVM_DEV would win. */
	const char *argv[] = { VMRUN, mkvm_example("hello.cfg"), "--device",
			       "/dev/no-such-kvm", NULL };
	struct mkvm_proc r;

	mkvm_run(&r, 0, NULL, 20, argv);
	ASSERT_FALSE(r.timed_out);
	EXPECT_EQ(1, r.status);
	EXPECT_STREQ("vmrun: /dev/no-such-kvm: No such file or directory (is the module loaded? try: modprobe minikvm)\n",
		     r.err);
}

TEST_HARNESS_MAIN
