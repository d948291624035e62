// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of vmrun's config parsing (user/config.c): sizes,
 * keys, sections, command-line overrides, and the one-line errors naming
 * file, line and key.  Built and run by selftests/unit/run.sh.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmrun.h"

/* A config file in /tmp with text; its path in path (the caller unlinks). */
static void write_cfg(char *path, const char *text)
{
	int fd;

	strcpy(path, "/tmp/vmrun_config_test.XXXXXX.cfg");
	fd = mkstemps(path, 4);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* Parses text (+ options) and finishes; returns 0 or -1 with cfg->error. */
static int parse(struct vm_config *cfg, char *path, const char *text)
{
	config_init(cfg);
	write_cfg(path, text);
	return config_parse_file(cfg, path);
}

FIXTURE(cfg) {
	struct vm_config cfg;
	char path[64];
	char image[64];
};

FIXTURE_SETUP(cfg)
{
	int fd;

	self->path[0] = '\0';
	/* A 4K raw image next to the config files. */
	strcpy(self->image, "/tmp/vmrun_config_test.XXXXXX.bin");
	fd = mkstemps(self->image, 4);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4096));
	close(fd);
}

FIXTURE_TEARDOWN(cfg)
{
	if (self->path[0])
		unlink(self->path);
	unlink(self->image);
}

TEST(sizes)
{
	uint64_t v;

	ASSERT_EQ(0, parse_size("4096", &v));
	EXPECT_EQ(4096, v);
	ASSERT_EQ(0, parse_size("64M", &v));
	EXPECT_EQ(64ULL << 20, v);
	ASSERT_EQ(0, parse_size("64m", &v));
	EXPECT_EQ(64ULL << 20, v);
	ASSERT_EQ(0, parse_size("2G", &v));
	EXPECT_EQ(2ULL << 30, v);
	ASSERT_EQ(0, parse_size("512KiB", &v));
	EXPECT_EQ(512ULL << 10, v);
	ASSERT_EQ(0, parse_size("1T", &v));
	EXPECT_EQ(1ULL << 40, v);
	ASSERT_EQ(0, parse_size("0x100000", &v));
	EXPECT_EQ(1ULL << 20, v);
	EXPECT_EQ(-1, parse_size("", &v));
	EXPECT_EQ(-1, parse_size("M", &v));
	EXPECT_EQ(-1, parse_size("-1M", &v));
	EXPECT_EQ(-1, parse_size("64Q", &v));
	EXPECT_EQ(-1, parse_size("64 M", &v));
	EXPECT_EQ(-1, parse_size("64MX", &v));
	EXPECT_EQ(-1, parse_size("99999999999999999999", &v));
	EXPECT_EQ(-1, parse_size("17179869184G", &v));	/* 2^64 bytes */
}

TEST_F(cfg, defaults_and_every_key)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "; a comment\n[vm]\nname = demo\nmemory = 8M\nvcpus = 3\n"
		 "device = /dev/kvm\nconsole = file:/tmp/out\non_poweroff = restart\n"
		 "on_crash = exit\n\n[boot]\nimage = %s\nformat = raw\n"
		 "mode = protected\nload = 0x20000\nentry = 0x20010\n",
		 self->image);
	ASSERT_EQ(0, parse(&self->cfg, self->path, text)) TH_LOG("%s", self->cfg.error);
	ASSERT_EQ(0, config_finish(&self->cfg)) TH_LOG("%s", self->cfg.error);
	EXPECT_STREQ("demo", self->cfg.name);
	EXPECT_EQ(8ULL << 20, self->cfg.memory);
	EXPECT_EQ(3, self->cfg.vcpus);
	EXPECT_STREQ("/dev/kvm", self->cfg.device);
	EXPECT_EQ(CONSOLE_FILE, self->cfg.console);
	EXPECT_STREQ("/tmp/out", self->cfg.console_path);
	EXPECT_EQ(ACTION_RESTART, self->cfg.on_poweroff);
	EXPECT_EQ(ACTION_EXIT, self->cfg.on_crash);
	EXPECT_STREQ(self->image, self->cfg.image);
	EXPECT_EQ(MODE_PROTECTED, self->cfg.mode);
	EXPECT_EQ(0x20000, self->cfg.load);
	EXPECT_EQ(0x20010, self->cfg.entry);
	EXPECT_EQ(12, self->cfg.where[KEY_IMAGE].line);
	EXPECT_EQ(3, self->cfg.where[KEY_NAME].line);

	/* Without keys: the defaults, and the name from the file's name. */
	config_init(&self->cfg);
	EXPECT_STREQ("/dev/minikvm", self->cfg.device);
	EXPECT_EQ(16ULL << 20, self->cfg.memory);
	EXPECT_EQ(1, self->cfg.vcpus);
	EXPECT_EQ(MODE_REAL, self->cfg.mode);
	EXPECT_EQ(CONSOLE_STDIO, self->cfg.console);
}

TEST_F(cfg, name_from_file_and_relative_image)
{
	const char *base = strrchr(self->image, '/') + 1;
	char text[256], want[64];

	snprintf(text, sizeof(text), "[boot]\nimage = %s\n", base);
	ASSERT_EQ(0, parse(&self->cfg, self->path, text)) TH_LOG("%s", self->cfg.error);
	ASSERT_EQ(0, config_finish(&self->cfg)) TH_LOG("%s", self->cfg.error);
	/* Relative to the config file's directory, not the cwd. */
	EXPECT_STREQ(self->image, self->cfg.image);
	snprintf(want, sizeof(want), "%.*s", (int)(strlen(self->path) - 4 - 5),
		 self->path + 5);
	EXPECT_STREQ(want, self->cfg.name);
}

TEST_F(cfg, options_override_keys)
{
	char text[256];

	snprintf(text, sizeof(text), "[vm]\nmemory = 8M\nvcpus = 2\n[boot]\nimage = %s\n",
		 self->image);
	ASSERT_EQ(0, parse(&self->cfg, self->path, text));
	ASSERT_EQ(0, config_set_option(&self->cfg, "memory", "64M"));
	ASSERT_EQ(0, config_set_option(&self->cfg, "on-crash", "restart"));
	ASSERT_EQ(0, config_set_option(&self->cfg, "device", "/dev/kvm"));
	ASSERT_EQ(0, config_finish(&self->cfg)) TH_LOG("%s", self->cfg.error);
	EXPECT_EQ(64ULL << 20, self->cfg.memory);
	EXPECT_EQ(2, self->cfg.vcpus);
	EXPECT_EQ(ACTION_RESTART, self->cfg.on_crash);
	EXPECT_STREQ("/dev/kvm", self->cfg.device);
	EXPECT_EQ(-1, self->cfg.where[KEY_MEMORY].line);

	ASSERT_EQ(-1, config_set_option(&self->cfg, "colour", "red"));
	EXPECT_STREQ("command line: --colour: unknown option", self->cfg.error);
}

TEST_F(cfg, linux_keys)
{
	char text[512];

	snprintf(text, sizeof(text), "[vm]\nmemory = 256M\non_reboot = exit\n[boot]\n"
		 "format = bzimage\nimage = %s\ninitrd = rd.img\n"
		 "cmdline = console=ttyS0 x=a;b\n", self->image);
	ASSERT_EQ(0, parse(&self->cfg, self->path, text));
	ASSERT_EQ(0, config_finish(&self->cfg)) TH_LOG("%s", self->cfg.error);
	EXPECT_EQ(FORMAT_BZIMAGE, self->cfg.format);
	EXPECT_EQ(MODE_LONG, self->cfg.mode);
	EXPECT_EQ(ACTION_EXIT, self->cfg.on_reboot);
	EXPECT_STREQ("console=ttyS0 x=a;b", self->cfg.cmdline);
	/* Relative to the config file's directory, as image is. */
	EXPECT_STREQ("/tmp/rd.img", self->cfg.initrd);
	/* A reboot restarts by default, as on a PC. */
	config_init(&self->cfg);
	EXPECT_EQ(ACTION_RESTART, self->cfg.on_reboot);
}

/* text must fail with exactly this message (file name replaced by "F"). */
static void expect_error(struct __test_metadata *_metadata, struct vm_config *cfg,
			 char *path, const char *text, const char *want)
{
	char got[700];
	int r = parse(cfg, path, text);
	size_t n = strlen(path);

	if (!r)
		r = config_finish(cfg);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(NULL, strchr(cfg->error, '\n'));
	if (!strncmp(cfg->error, path, n))
		snprintf(got, sizeof(got), "F%s", cfg->error + n);
	else
		snprintf(got, sizeof(got), "%s", cfg->error);
	EXPECT_STREQ(want, got);
	unlink(path);
	path[0] = '\0';
}

TEST_F(cfg, errors_name_file_line_key)
{
	char text[256];

	expect_error(_metadata, &self->cfg, self->path, "[vm]\nmemroy = 2M\n",
		     "F:2: memroy: unknown key in section [vm]");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\n\nmemory = 2X\n",
		     "F:3: memory: bad size '2X' (a number with an optional unit K, M, G or T, e.g. 64M)");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nmemory = 1000\n",
		     "F:2: memory: 1000 is not a multiple of 4K of at least 4K");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nvcpus = 0\n",
		     "F:2: vcpus: bad vCPU count '0' (1 or more)");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nconsole = tty\n",
		     "F:2: console: bad console 'tty' (stdio, file:PATH or none)");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\non_crash = reboot\n",
		     "F:2: on_crash: bad action 'reboot' (exit or restart)");
	{
		char line[600];

		snprintf(line, sizeof(line), "[boot]\n\ncmdline = %0400d\n", 0);
		expect_error(_metadata, &self->cfg, self->path, line,
			     "F:3: line longer than 198 bytes (give a longer value as an option)");
	}
	expect_error(_metadata, &self->cfg, self->path, "[vm]\non_reboot = halt\n",
		     "F:2: on_reboot: bad action 'halt' (exit or restart)");
	snprintf(text, sizeof(text), "[boot]\nformat = bzimage\nmode = long\nimage = %s\n",
		 self->image);
	expect_error(_metadata, &self->cfg, self->path, text,
		     "F:3: mode: not used with format = bzimage (the kernel starts in long mode at its 64-bit entry)");
	snprintf(text, sizeof(text), "[vm]\nmemory = 2T\n[boot]\nformat = bzimage\nimage = %s\n",
		 self->image);
	expect_error(_metadata, &self->cfg, self->path, text,
		     "F:2: memory: 2097152M: a Linux guest has at most 1048576M");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nmax_ram_below_4g = 3G1\n",
		     "F:2: max_ram_below_4g: bad size '3G1' (a number with an optional unit K, M, G or T, e.g. 1G)");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nmax_ram_below_4g = 4G\n",
		     "F:2: max_ram_below_4g: 4G: a multiple of 2M from 2M to 3072M");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nmax_ram_below_4g = 1025M\n",
		     "F:2: max_ram_below_4g: 1025M: a multiple of 2M from 2M to 3072M");
	snprintf(text, sizeof(text), "[vm]\nmax_ram_below_4g = 1G\n[boot]\nimage = %s\n",
		 self->image);
	expect_error(_metadata, &self->cfg, self->path, text,
		     "F:2: max_ram_below_4g: only for a Linux kernel (format = bzimage or vmlinux)");
	snprintf(text, sizeof(text), "[boot]\nimage = %s\ncmdline = quiet\n", self->image);
	expect_error(_metadata, &self->cfg, self->path, text,
		     "F:3: cmdline: only for a Linux kernel (format = bzimage or vmlinux)");
	expect_error(_metadata, &self->cfg, self->path, "[boot]\ninitrd =\n",
		     "F:2: initrd: bad value ''");
	expect_error(_metadata, &self->cfg, self->path, "[boot]\nmode = unreal\n",
		     "F:2: mode: bad CPU mode 'unreal' (real, protected or long)");
	expect_error(_metadata, &self->cfg, self->path, "[boot]\nformat = coff\n",
		     "F:2: format: bad format 'coff' (raw, elf, bzimage or vmlinux)");
	expect_error(_metadata, &self->cfg, self->path, "[boot]\nload = 64K\n",
		     "F:2: load: bad address '64K'");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nimage = x\n",
		     "F:2: image: belongs in section [boot], not [vm]");
	expect_error(_metadata, &self->cfg, self->path, "[net]\nimage = x\n",
		     "F:2: image: unknown section [net] (vm, boot or disk)");
	expect_error(_metadata, &self->cfg, self->path, "[disk]\nimage = x\n",
		     "F:2: image: belongs in section [boot], not [disk]");
	expect_error(_metadata, &self->cfg, self->path, "[disk]\nreadonly = maybe\n",
		     "F:2: readonly: bad value 'maybe' (yes or no)");
	snprintf(text, sizeof(text), "[boot]\nimage = %s\n[disk]\npath = %s\n",
		 self->image, self->image);
	expect_error(_metadata, &self->cfg, self->path, text,
		     "F:4: path: a disk only for a Linux kernel (format = bzimage or vmlinux)");
	snprintf(text, sizeof(text), "[boot]\nformat = bzimage\nimage = %s\n[disk]\npath = /nonexistent.img\n",
		 self->image);
	expect_error(_metadata, &self->cfg, self->path, text,
		     "F:5: path: /nonexistent.img: No such file or directory");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nname = a\nnot ini\n",
		     "F:3: syntax error (expected [section] or key = value)");
	expect_error(_metadata, &self->cfg, self->path, "[vm]\nname = a\n",
		     "F: image: missing: say which guest image to boot ([boot] image = FILE)");
	expect_error(_metadata, &self->cfg, self->path, "[boot]\nimage = /nonexistent.bin\n",
		     "F:2: image: /nonexistent.bin: No such file or directory");

	snprintf(text, sizeof(text), "[vm]\nmemory = 64T\n[boot]\nimage = %s\n", self->image);
	parse(&self->cfg, self->path, text);
	EXPECT_EQ(-1, config_finish(&self->cfg));
	EXPECT_NE(NULL, strstr(self->cfg.error, ":2: memory: 67108864M is more than the host's "));

	/* 4K at 0x10000 in 64K of memory, less 32K of page tables. */
	snprintf(text, sizeof(text), "[vm]\nmemory = 64K\n[boot]\nmode = long\nimage = %s\n",
		 self->image);
	parse(&self->cfg, self->path, text);
	EXPECT_EQ(-1, config_finish(&self->cfg));
	EXPECT_NE(NULL, strstr(self->cfg.error, ":5: image: ")) TH_LOG("%s", self->cfg.error);
	EXPECT_NE(NULL, strstr(self->cfg.error, "4096 bytes at 0x10000 do not fit below 0x8000"));

	snprintf(text, sizeof(text), "[boot]\nformat = elf\nimage = %s\n", self->image);
	parse(&self->cfg, self->path, text);
	EXPECT_EQ(-1, config_finish(&self->cfg));
	EXPECT_NE(NULL, strstr(self->cfg.error, "not an ELF file (format = elf)"));

	snprintf(text, sizeof(text), "[boot]\nentry = 0x100000\nimage = %s\n", self->image);
	parse(&self->cfg, self->path, text);
	EXPECT_EQ(-1, config_finish(&self->cfg));
	EXPECT_NE(NULL, strstr(self->cfg.error, ":2: entry: 0x100000 is beyond the 1M real mode can reach"));
	unlink(self->path);
	self->path[0] = '\0';
}

TEST_F(cfg, keys_before_any_section_are_vm_keys)
{
	char text[256];

	snprintf(text, sizeof(text), "memory = 4M ; inline comment\n# comment\n[boot]\nimage = %s\n",
		 self->image);
	ASSERT_EQ(0, parse(&self->cfg, self->path, text)) TH_LOG("%s", self->cfg.error);
	EXPECT_EQ(4ULL << 20, self->cfg.memory);
}

TEST_F(cfg, first_error_wins)
{
	expect_error(_metadata, &self->cfg, self->path,
		     "[vm]\nvcpus = x\nmemory = y\n",
		     "F:2: vcpus: bad vCPU count 'x' (1 or more)");
}

TEST_HARNESS_MAIN
