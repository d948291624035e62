// SPDX-License-Identifier: GPL-2.0
/*
 * vmctl and vmrun's accounting, end to end: runs /mkvm/bin/vmrun on the
 * example guests in /mkvm/examples and /mkvm/bin/vmctl next to them, and
 * checks what vmctl list, list --json, stat, watch and check say, and
 * what vmrun --stats prints.  The netlink family is minikvm's: on
 * MKVM_DEV=/dev/kvm those tests skip, and the ones that hold for KVM
 * (vmctl check names kvm_amd/kvm_intel and kvm as in the way; vmctl
 * without the module says how to load it) run instead.  On minikvm,
 * vmctl check is also run with kvm.ko alone loaded ($MKVM_KVM_KO, as
 * conflict_test loads it), which is enough to make KVM_CREATE_VM fail.  $VMRUN, $VMCTL and
 * $MKVM_EXAMPLES point elsewhere for a run outside the test VM.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"
#include "lib/run.h"

#define VMRUN	mkvm_tool("VMRUN", "/mkvm/bin/vmrun")
#define VMCTL	mkvm_tool("VMCTL", "/mkvm/bin/vmctl")

/* Runs the command (argv, NULL-terminated) to its end (killed after 20 s). */
#define run(p, ...) \
	mkvm_run(p, 0, NULL, 20, (const char *const[]){ __VA_ARGS__ })

/*
 * The looping guest named @name in the background, once it has printed
 * its whole line: from then on it spins in guest mode (state running,
 * its exit counts still).  Its first words alone come while it is still
 * printing, one port-IO exit to vmrun a byte.
 */
static void start_loop(struct __test_metadata *_metadata, struct mkvm_proc *vm,
		       const char *name)
{
	const char *argv[] = { VMRUN, mkvm_example("loop.cfg"), "--device",
			       mkvm_dev(), "--name", name, NULL };

	mkvm_start(vm, argv);
	ASSERT_TRUE(mkvm_wait_output(vm, "looping forever: stop me with Ctrl-C\n", 20))
		TH_LOG("vmrun: %s / %s", vm->out, vm->err);
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
	struct mkvm_proc vm, ctl;
	char id[16], name[64], pid[16], vcpus[16], mem[16], res[16], state[16];
	char copy[sizeof(ctl.out)], *l;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-list");
	run(&ctl, VMCTL, "list", NULL);
	mkvm_finish(&vm, SIGTERM, 10);
	/* In the log, for the eye (and README.md's example). */
	memcpy(copy, ctl.out, sizeof(copy));
	for (l = strtok(copy, "\n"); l; l = strtok(NULL, "\n"))
		fprintf(stderr, "# vmctl list: %s\n", l);
	EXPECT_EQ(0, ctl.status) TH_LOG("stderr: %s", ctl.err);
	EXPECT_NE(NULL, strstr(ctl.out, "NAME")) TH_LOG("%s", ctl.out);
	l = line_with(ctl.out, "vmctl-list");
	ASSERT_NE(NULL, l) TH_LOG("no vmctl-list in:\n%s", ctl.out);
	ASSERT_EQ(7, sscanf(l, "%15s %63s %15s %15s %15s %15s %15s", id, name,
			    pid, vcpus, mem, res, state)) TH_LOG("%s", l);
	EXPECT_STREQ("vmctl-list", name);
	EXPECT_EQ(vm.pid, atoi(pid));
	EXPECT_STREQ("1", vcpus);
	EXPECT_STREQ("2M", mem);		/* loop.cfg: memory = 2M */
	EXPECT_STREQ("running", state) TH_LOG("%s", l);
	EXPECT_NE('0', res[0]) TH_LOG("resident %s", res);
	EXPECT_EQ(128 + SIGTERM, vm.status) TH_LOG("vmrun: %s", vm.err);
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
	struct mkvm_proc vm, ctl;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-json");
	run(&ctl, VMCTL, "--json", "list", NULL);
	mkvm_finish(&vm, SIGTERM, 10);
	EXPECT_EQ(0, ctl.status) TH_LOG("stderr: %s", ctl.err);
	EXPECT_EQ('[', ctl.out[0]) TH_LOG("%s", ctl.out);
	EXPECT_TRUE(json_balanced(ctl.out)) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "\"name\": \"vmctl-json\"")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "\"memory_bytes\": 2097152")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "\"state\": \"running\"")) TH_LOG("%s", ctl.out);
}

TEST(stat_by_name_shows_io_exits)
{
	struct mkvm_proc vm, ctl, js;
	unsigned long long io = 0, io0 = 0;
	char *l;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-stat");
	run(&ctl, VMCTL, "stat", "vmctl-stat", NULL);
	run(&js, VMCTL, "--json", "stat", "vmctl-stat", NULL);
	mkvm_finish(&vm, SIGTERM, 10);
	EXPECT_EQ(0, ctl.status) TH_LOG("stderr: %s", ctl.err);
	EXPECT_NE(NULL, strstr(ctl.out, "vmctl-stat")) TH_LOG("%s", ctl.out);
	/* The guest wrote its message to the UART, one port write a byte. */
	l = line_with(ctl.out, "  io ");
	ASSERT_NE(NULL, l) TH_LOG("%s", ctl.out);
	ASSERT_EQ(2, sscanf(l, " io %llu %llu", &io, &io0)) TH_LOG("%s", l);
	EXPECT_GE(io, strlen("looping forever: stop me with Ctrl-C\n"));
	EXPECT_EQ(io, io0);			/* one vCPU: all of them */
	EXPECT_EQ(0, js.status) TH_LOG("stderr: %s", js.err);
	EXPECT_TRUE(json_balanced(js.out)) TH_LOG("%s", js.out);
	EXPECT_NE(NULL, strstr(js.out, "\"vcpus\": [{\"vcpu\": 0")) TH_LOG("%s", js.out);
}

TEST(stat_unknown_vm_fails)
{
	struct mkvm_proc ctl;

	skip_on_kvm(_metadata);
	run(&ctl, VMCTL, "stat", "no-such-vm", NULL);
	EXPECT_EQ(1, ctl.status);
	EXPECT_NE(NULL, strstr(ctl.err, "no VM no-such-vm")) TH_LOG("%s", ctl.err);
}

/* Every malformed command line: status 2, what is wrong, then the usage. */
TEST(bad_command_lines)
{
	static const struct {
		const char *argv[4];
		const char *says;
	} bad[] = {
		{ { "--bogus" }, "unknown option --bogus" },
		{ { "list", "--bogus" }, "unknown option --bogus" },
		{ { "frobnicate" }, "unknown command frobnicate" },
		{ { "list", "extra" }, "unexpected argument extra" },
		{ { "check", "extra" }, "unexpected argument extra" },
		{ { "stat" }, "stat needs a VM id or name" },
		{ { "stat", "a", "b" }, "unexpected argument b" },
		{ { "top", "abc" }, "bad interval abc" },
		{ { "top", "0" }, "bad interval 0" },
		{ { "top", "-1" }, "bad interval -1" },
		{ { "top", "0.05" }, "bad interval 0.05" },
		{ { "top", "nan" }, "bad interval nan" },
		{ { "top", "1e9" }, "bad interval 1e9" },
		{ { "top", "2x" }, "bad interval 2x" },
	};
	struct mkvm_proc ctl;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		run(&ctl, VMCTL, bad[i].argv[0], bad[i].argv[1], bad[i].argv[2],
		    bad[i].argv[3], NULL);
		EXPECT_EQ(2, ctl.status) TH_LOG("vmctl %s %s", bad[i].argv[0],
						 bad[i].argv[1] ? bad[i].argv[1] : "");
		EXPECT_NE(NULL, strstr(ctl.err, bad[i].says))
			TH_LOG("expected \"%s\", got: %s", bad[i].says, ctl.err);
		EXPECT_NE(NULL, strstr(ctl.err, "usage: vmctl")) TH_LOG("%s", ctl.err);
		EXPECT_EQ(0, ctl.out_len) TH_LOG("stdout: %s", ctl.out);
	}
}

TEST(watch_sees_create_and_destroy)
{
	struct mkvm_proc w, vm;
	char *l;

	skip_on_kvm(_metadata);
	{
		const char *argv[] = { VMCTL, "watch", NULL };

		mkvm_start(&w, argv);
	}
	ASSERT_TRUE(mkvm_wait_output(&w, "watching", 10)) TH_LOG("%s", w.err);
	run(&vm, VMRUN, mkvm_example("hello.cfg"), "--device", mkvm_dev(), NULL);
	EXPECT_EQ(0, vm.status) TH_LOG("vmrun: %s", vm.err);
	mkvm_wait_output(&w, "vm-destroyed", 5);
	mkvm_finish(&w, SIGINT, 5);
	EXPECT_EQ(0, w.status) TH_LOG("%s", w.err);
	l = line_with(w.out, "vm-created");
	EXPECT_NE(NULL, l) TH_LOG("%s", w.out);
	if (l) {
		char pid[32];

		snprintf(pid, sizeof(pid), "pid %d ", vm.pid);
		EXPECT_NE(NULL, strstr(l, pid)) TH_LOG("%s", l);
	}
	EXPECT_NE(NULL, strstr(w.out, "vm-destroyed")) TH_LOG("%s", w.out);
	EXPECT_LT(strstr(w.out, "vm-created"), strstr(w.out, "vm-destroyed"));
}

TEST(top_shows_rates)
{
	const char *argv[] = { VMCTL, "top", "0.2", NULL };
	struct mkvm_proc vm, top;
	char *l;
	double cpu = -1;

	skip_on_kvm(_metadata);
	start_loop(_metadata, &vm, "vmctl-top");
	mkvm_start(&top, argv);
	/* The first screen has no rates yet; wait for a few more. */
	usleep(1500 * 1000);
	mkvm_finish(&top, SIGINT, 5);
	mkvm_finish(&vm, SIGTERM, 10);
	EXPECT_EQ(0, top.status) TH_LOG("%s", top.err);
	EXPECT_NE(NULL, strstr(top.out, "EXITS/s")) TH_LOG("%s", top.out);
	/* The last screen's line for the guest: it spins, so CPU% > 0. */
	l = NULL;
	for (char *s = top.out; (s = strstr(s, "vmctl-top")); s++)
		l = s;
	ASSERT_NE(NULL, l) TH_LOG("%s", top.out);
	EXPECT_EQ(1, sscanf(l, "vmctl-top %*u %*s %*s %lf%%", &cpu)) TH_LOG("%s", l);
	EXPECT_GT(cpu, 0.0) TH_LOG("%s", l);
}

TEST(check_says_usable)
{
	struct mkvm_proc ctl;

	skip_on_kvm(_metadata);
	run(&ctl, VMCTL, "check", NULL);
	EXPECT_EQ(0, ctl.status) TH_LOG("%s", ctl.out);
	EXPECT_TRUE(strstr(ctl.out, "AMD SVM: yes") || strstr(ctl.out, "Intel VMX: yes"))
		TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "minikvm module:    loaded")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "verdict:           usable")) TH_LOG("%s", ctl.out);
}

/* On the KVM run minikvm is unloaded and kvm_amd/kvm_intel holds the CPU. */
TEST(check_names_kvm_in_the_way)
{
	struct mkvm_proc ctl;

	if (!mkvm_is_kvm())
		SKIP(return, "only with KVM loaded");
	run(&ctl, VMCTL, "check", NULL);
	EXPECT_EQ(1, ctl.status) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "in the way:        kvm_")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "in the way:        kvm is loaded; creating a VM "
			       "fails with EBUSY until it is unloaded (rmmod kvm, after "
			       "kvm_amd/kvm_intel)")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "not loaded (modprobe minikvm)")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "NOT usable")) TH_LOG("%s", ctl.out);
}

/*
 * kvm.ko alone (no kvm_amd/kvm_intel) is enough to make minikvm refuse
 * KVM_CREATE_VM with EBUSY: check says so and that the host is not
 * usable, and is content again once kvm.ko is gone.
 */
TEST(check_says_kvm_ko_blocks_vms)
{
	struct mkvm_proc ctl;
	int fd, vm;

	if (mkvm_is_kvm())
		SKIP(return, "about minikvm only");
	if (!getenv("MKVM_KVM_KO") || access(getenv("MKVM_KVM_KO"), R_OK))
		SKIP(return, "MKVM_KVM_KO does not name a readable kvm.ko");
	ASSERT_EQ(0, mkvm_load_kvm_ko());
	run(&ctl, VMCTL, "check", NULL);
	/* What check says is what happens. */
	fd = open(mkvm_dev(), O_RDWR | O_CLOEXEC);
	vm = fd < 0 ? -errno : __mkvm_ioctl(fd, KVM_CREATE_VM, 0);
	if (vm >= 0)
		close(vm);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, mkvm_unload_kvm_ko());
	EXPECT_EQ(-EBUSY, vm);
	EXPECT_EQ(1, ctl.status) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "in the way:        kvm is loaded; creating a VM "
			       "fails with EBUSY until it is unloaded (rmmod kvm)\n"))
		TH_LOG("%s", ctl.out);
	EXPECT_EQ(NULL, strstr(ctl.out, "in the way:        kvm_")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "minikvm module:    loaded")) TH_LOG("%s", ctl.out);
	EXPECT_NE(NULL, strstr(ctl.out, "verdict:           NOT usable")) TH_LOG("%s", ctl.out);

	run(&ctl, VMCTL, "check", NULL);
	EXPECT_EQ(0, ctl.status) TH_LOG("%s", ctl.out);
	EXPECT_EQ(NULL, strstr(ctl.out, "in the way:")) TH_LOG("%s", ctl.out);
}

TEST(list_without_module_says_so)
{
	struct mkvm_proc ctl;

	if (!mkvm_is_kvm())
		SKIP(return, "only with minikvm unloaded");
	run(&ctl, VMCTL, "list", NULL);
	EXPECT_EQ(1, ctl.status);
	EXPECT_NE(NULL, strstr(ctl.err, "minikvm module not loaded? (modprobe minikvm)"))
		TH_LOG("%s", ctl.err);
}

TEST(vmrun_stats)
{
	struct mkvm_proc vm, plain;

	skip_on_kvm(_metadata);
	run(&vm, VMRUN, mkvm_example("hello.cfg"), "--device", mkvm_dev(), "--stats",
	    NULL);
	EXPECT_EQ(0, vm.status) TH_LOG("vmrun: %s", vm.err);
	EXPECT_NE(NULL, strstr(vm.err, "vmrun: hello: stats: guest time ")) TH_LOG("%s", vm.err);
	EXPECT_NE(NULL, strstr(vm.err, "resident ")) TH_LOG("%s", vm.err);
	EXPECT_NE(NULL, strstr(vm.err, "exits by reason: io ")) TH_LOG("%s", vm.err);
	EXPECT_NE(NULL, strstr(vm.err, "page tables ")) TH_LOG("%s", vm.err);
	/* Without --stats: nothing of it. */
	run(&plain, VMRUN, mkvm_example("hello.cfg"), "--device", mkvm_dev(), NULL);
	EXPECT_EQ(0, plain.status) TH_LOG("vmrun: %s", plain.err);
	EXPECT_EQ(NULL, strstr(plain.err, "stats:")) TH_LOG("%s", plain.err);
}

TEST(vmrun_on_kvm_prints_no_stats)
{
	struct mkvm_proc vm;

	if (!mkvm_is_kvm())
		SKIP(return, "the KVM run");
	run(&vm, VMRUN, mkvm_example("hello.cfg"), "--device", mkvm_dev(), "--stats",
	    NULL);
	EXPECT_EQ(0, vm.status) TH_LOG("vmrun: %s", vm.err);
	EXPECT_EQ(NULL, strstr(vm.err, "stats:")) TH_LOG("%s", vm.err);
}

TEST_HARNESS_MAIN
