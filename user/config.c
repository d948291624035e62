// SPDX-License-Identifier: GPL-2.0
/*
 * vmrun's config: an INI file read with libinih, then command-line
 * options that override its keys (guest.cfg(5)).  Every error is one line
 * naming the file, the line and the key, kept in cfg->error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/sysinfo.h>
#include <ini.h>

#include "vmrun.h"

const char *const cfg_key_name[NR_KEYS] = {
	[KEY_NAME] = "name", [KEY_MEMORY] = "memory", [KEY_VCPUS] = "vcpus",
	[KEY_DEVICE] = "device", [KEY_CONSOLE] = "console",
	[KEY_ON_POWEROFF] = "on_poweroff", [KEY_ON_CRASH] = "on_crash",
	[KEY_ON_REBOOT] = "on_reboot",
	[KEY_IMAGE] = "image", [KEY_FORMAT] = "format", [KEY_MODE] = "mode",
	[KEY_LOAD] = "load", [KEY_ENTRY] = "entry",
	[KEY_INITRD] = "initrd", [KEY_CMDLINE] = "cmdline",
	[KEY_DISK] = "path", [KEY_DISK_READONLY] = "readonly",
	[KEY_RNG] = "rng", [KEY_RAM_BELOW_4G] = "max_ram_below_4g",
};

/* The section each key belongs to. */
static const char *const key_section[NR_KEYS] = {
	[KEY_NAME] = "vm", [KEY_MEMORY] = "vm", [KEY_VCPUS] = "vm",
	[KEY_DEVICE] = "vm", [KEY_CONSOLE] = "vm",
	[KEY_ON_POWEROFF] = "vm", [KEY_ON_CRASH] = "vm", [KEY_ON_REBOOT] = "vm",
	[KEY_IMAGE] = "boot", [KEY_FORMAT] = "boot", [KEY_MODE] = "boot",
	[KEY_LOAD] = "boot", [KEY_ENTRY] = "boot",
	[KEY_INITRD] = "boot", [KEY_CMDLINE] = "boot",
	[KEY_DISK] = "disk", [KEY_DISK_READONLY] = "disk",
	[KEY_RNG] = "vm", [KEY_RAM_BELOW_4G] = "vm",
};

const char *const cpu_mode_name[] = {
	[MODE_REAL] = "real", [MODE_PROTECTED] = "protected", [MODE_LONG] = "long",
};

static void verror(struct vm_config *cfg, const struct cfg_where *w,
		   const char *key, const char *fmt, va_list ap)
{
	char msg[384];
	char at[128];

	if (cfg->error[0])	/* keep the first */
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!w)
		snprintf(at, sizeof(at), "%s: %s", cfg->file ? cfg->file : "vmrun",
			 key);
	else if (!w->file)
		snprintf(at, sizeof(at), "command line: --%s", key);
	else
		snprintf(at, sizeof(at), "%s:%d: %s", w->file, w->line, key);
	snprintf(cfg->error, sizeof(cfg->error), "%s: %s", at, msg);
}

static void error_at(struct vm_config *cfg, const struct cfg_where *w,
		     const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void error_at(struct vm_config *cfg, const struct cfg_where *w,
		     const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cfg, w, key, fmt, ap);
	va_end(ap);
}

void config_error(struct vm_config *cfg, enum cfg_key key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cfg, cfg->set[key] ? &cfg->where[key] : NULL, cfg_key_name[key],
	       fmt, ap);
	va_end(ap);
}

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->name, "guest");
	cfg->memory = 16 << 20;
	cfg->ram_below_4g = LINUX_LOW_MAX;
	cfg->vcpus = 1;
	strcpy(cfg->device, "/dev/minikvm");
	cfg->console = CONSOLE_STDIO;
	cfg->on_poweroff = ACTION_EXIT;
	cfg->on_crash = ACTION_EXIT;
	cfg->on_reboot = ACTION_RESTART;
	cfg->format = FORMAT_RAW;
	cfg->mode = MODE_REAL;
	cfg->load = 0x10000;
}

/* "64M": a number (decimal, or 0x hex) and an optional K, M, G or T. */
int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
		end += strlen(end);
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int parse_action(const char *s, enum vm_action *a)
{
	if (!strcmp(s, "exit"))
		*a = ACTION_EXIT;
	else if (!strcmp(s, "restart"))
		*a = ACTION_RESTART;
	else
		return -1;
	return 0;
}

/* A relative path in the config file is relative to the file's directory. */
static int resolve(char *dst, size_t size, const char *path,
		   const struct cfg_where *w)
{
	char dir[PATH_MAX];
	int n;

	if (path[0] == '/' || !w->file)
		n = snprintf(dst, size, "%s", path);
	else {
		snprintf(dir, sizeof(dir), "%s", w->file);
		n = snprintf(dst, size, "%s/%s", dirname(dir), path);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* yes, true or 1; no, false or 0: 0, or -1 for anything else. */
static int parse_yes_no(const char *value, bool *b)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1"))
		*b = true;
	else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		 !strcmp(value, "0"))
		*b = false;
	else
		return -1;
	return 0;
}

int config_set(struct vm_config *cfg, enum cfg_key key, const char *value,
	       const struct cfg_where *where)
{
	const char *k = cfg_key_name[key];
	uint64_t v;

	cfg->set[key] = true;
	cfg->where[key] = *where;

	switch (key) {
	case KEY_NAME:
		if (!*value || strlen(value) >= sizeof(cfg->name))
			goto bad;
		strcpy(cfg->name, value);
		break;
	case KEY_MEMORY:
		if (parse_size(value, &v)) {
			error_at(cfg, where, k, "bad size '%s' (a number with an optional unit K, M, G or T, e.g. 64M)",
				 value);
			return -1;
		}
		if (v < 4096 || v % 4096) {
			error_at(cfg, where, k, "%s is not a multiple of 4K of at least 4K",
				 value);
			return -1;
		}
		cfg->memory = v;
		break;
	case KEY_RAM_BELOW_4G:
		if (parse_size(value, &v)) {
			error_at(cfg, where, k, "bad size '%s' (a number with an optional unit K, M, G or T, e.g. 1G)",
				 value);
			return -1;
		}
		if (v % (2 << 20) || v < 2 * LINUX_KERNEL || v > LINUX_LOW_MAX) {
			error_at(cfg, where, k, "%s: a multiple of 2M from %lluM to %lluM",
				 value, 2ULL * LINUX_KERNEL >> 20, LINUX_LOW_MAX >> 20);
			return -1;
		}
		cfg->ram_below_4g = v;
		break;
	case KEY_VCPUS:
		/* The device's limit is checked once it is open. */
		if (parse_u64(value, &v) || v < 1 || v > 1 << 20) {
			error_at(cfg, where, k, "bad vCPU count '%s' (1 or more)", value);
			return -1;
		}
		cfg->vcpus = v;
		break;
	case KEY_DEVICE:
		if (!*value || strlen(value) >= sizeof(cfg->device))
			goto bad;
		strcpy(cfg->device, value);
		break;
	case KEY_CONSOLE:
		if (!strcmp(value, "stdio"))
			cfg->console = CONSOLE_STDIO;
		else if (!strcmp(value, "none"))
			cfg->console = CONSOLE_NONE;
		else if (!strncmp(value, "file:", 5) && value[5] &&
			 strlen(value + 5) < sizeof(cfg->console_path)) {
			cfg->console = CONSOLE_FILE;
			strcpy(cfg->console_path, value + 5);
		} else {
			error_at(cfg, where, k, "bad console '%s' (stdio, file:PATH or none)",
				 value);
			return -1;
		}
		break;
	case KEY_ON_POWEROFF:
	case KEY_ON_CRASH:
	case KEY_ON_REBOOT:
		if (parse_action(value, key == KEY_ON_CRASH ? &cfg->on_crash :
				 key == KEY_ON_REBOOT ? &cfg->on_reboot :
				 &cfg->on_poweroff)) {
			error_at(cfg, where, k, "bad action '%s' (exit or restart)", value);
			return -1;
		}
		break;
	case KEY_IMAGE:
		if (!*value || resolve(cfg->image, sizeof(cfg->image), value, where))
			goto bad;
		break;
	case KEY_FORMAT:
		if (!strcmp(value, "raw"))
			cfg->format = FORMAT_RAW;
		else if (!strcmp(value, "elf"))
			cfg->format = FORMAT_ELF;
		else if (!strcmp(value, "bzimage"))
			cfg->format = FORMAT_BZIMAGE;
		else if (!strcmp(value, "vmlinux"))
			cfg->format = FORMAT_VMLINUX;
		else {
			error_at(cfg, where, k, "bad format '%s' (raw, elf, bzimage or vmlinux)",
				 value);
			return -1;
		}
		break;
	case KEY_MODE:
		for (v = 0; v < 3; v++)
			if (!strcmp(value, cpu_mode_name[v]))
				break;
		if (v == 3) {
			error_at(cfg, where, k, "bad CPU mode '%s' (real, protected or long)",
				 value);
			return -1;
		}
		cfg->mode = v;
		break;
	case KEY_INITRD:
		if (!*value || resolve(cfg->initrd, sizeof(cfg->initrd), value, where))
			goto bad;
		break;
	case KEY_CMDLINE:
		if (strlen(value) >= sizeof(cfg->cmdline)) {
			error_at(cfg, where, k, "%zu bytes: at most %zu",
				 strlen(value), sizeof(cfg->cmdline) - 1);
			return -1;
		}
		strcpy(cfg->cmdline, value);
		break;
	case KEY_DISK:
		if (!*value || resolve(cfg->disk, sizeof(cfg->disk), value, where))
			goto bad;
		break;
	case KEY_DISK_READONLY:
		if (parse_yes_no(value, &cfg->disk_readonly))
			goto yes_no;
		break;
	case KEY_RNG:
		if (parse_yes_no(value, &cfg->rng))
			goto yes_no;
		break;
	case KEY_LOAD:
	case KEY_ENTRY:
		if (parse_u64(value, &v)) {
			error_at(cfg, where, k, "bad address '%s'", value);
			return -1;
		}
		if (key == KEY_LOAD)
			cfg->load = v;
		else
			cfg->entry = v;
		break;
	default:
		return -1;
	}
	return 0;
yes_no:
	error_at(cfg, where, k, "bad value '%s' (yes or no)", value);
	return -1;
bad:
	error_at(cfg, where, k, "bad value '%s'", value);
	return -1;
}

struct parse_ctx {
	struct vm_config *cfg;
	FILE *f;
	int line;
};

/*
 * libinih reads a line at a time through this: it counts the lines, and
 * refuses one longer than libinih's buffer, which it would split.
 */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *ctx = stream;
	char *s = fgets(buf, size, ctx->f);
	size_t n;
	int c;

	if (!s)
		return NULL;
	ctx->line++;
	n = strlen(s);
	if (n + 1 < (size_t)size || s[n - 1] == '\n')
		return s;
	c = fgetc(ctx->f);
	if (c == EOF || c == '\n')
		return s;
	while (c != EOF && c != '\n')
		c = fgetc(ctx->f);
	if (!ctx->cfg->error[0])
		snprintf(ctx->cfg->error, sizeof(ctx->cfg->error),
			 "%s:%d: line longer than %d bytes (give a longer value as an option)",
			 ctx->cfg->file, ctx->line, size - 2);
	buf[0] = '\0';
	return s;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_ctx *ctx = user;
	struct cfg_where w = { ctx->cfg->file, ctx->line };
	int k;

	if (ctx->cfg->error[0])
		return 0;
	if (!*section)		/* keys before any section */
		section = "vm";
	for (k = 0; k < NR_KEYS; k++)
		if (!strcmp(name, cfg_key_name[k]))
			break;
	if (strcmp(section, "vm") && strcmp(section, "boot") &&
	    strcmp(section, "disk")) {
		error_at(ctx->cfg, &w, name, "unknown section [%s] (vm, boot or disk)",
			 section);
		return 0;
	}
	if (k == NR_KEYS) {
		error_at(ctx->cfg, &w, name, "unknown key in section [%s]", section);
		return 0;
	}
	if (strcmp(section, key_section[k])) {
		error_at(ctx->cfg, &w, name, "belongs in section [%s], not [%s]",
			 key_section[k], section);
		return 0;
	}
	return config_set(ctx->cfg, k, value, &w) ? 0 : 1;
}

int config_parse_file(struct vm_config *cfg, const char *file)
{
	struct parse_ctx ctx = { .cfg = cfg };
	char name[64], *dot;
	int r;

	cfg->file = file;
	ctx.f = fopen(file, "r");
	if (!ctx.f) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: %s", file,
			 strerror(errno));
		return -1;
	}
	/* The default name: the file's, without directory and ".cfg". */
	snprintf(name, sizeof(name), "%s", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	dot = strrchr(name, '.');
	if (dot && dot != name)
		*dot = '\0';
	strcpy(cfg->name, name);

	r = ini_parse_stream(read_line, &ctx, on_key, &ctx);
	fclose(ctx.f);
	if (cfg->error[0])
		return -1;
	if (r) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%s:%d: syntax error (expected [section] or key = value)",
			 file, r);
		return -1;
	}
	return 0;
}

/* "--memory 64M" or "--on-crash exit": a key given on the command line. */
int config_set_option(struct vm_config *cfg, const char *key, const char *value)
{
	struct cfg_where w = { NULL, -1 };	/* the command line */
	char k[32];
	int i;

	snprintf(k, sizeof(k), "%s", key);
	for (i = 0; k[i]; i++)
		if (k[i] == '-')
			k[i] = '_';
	for (i = 0; i < NR_KEYS; i++)
		if (!strcmp(k, cfg_key_name[i]))
			return config_set(cfg, i, value, &w);
	snprintf(cfg->error, sizeof(cfg->error), "command line: --%s: unknown option",
		 key);
	return -1;
}

/* Protected and long mode: vmrun's tables sit below min(memory, 4G). */
uint64_t boot_tables_base(const struct vm_config *cfg)
{
	uint64_t top = cfg->memory < (1ULL << 32) ? cfg->memory : 1ULL << 32;

	return top - BOOT_TABLES_SIZE;
}

uint64_t config_low_memory(const struct vm_config *cfg)
{
	if (format_is_linux(cfg->format) && cfg->memory > cfg->ram_below_4g)
		return cfg->ram_below_4g;
	return cfg->memory;
}

uint64_t boot_image_limit(const struct vm_config *cfg)
{
	return cfg->mode == MODE_REAL ? cfg->memory : boot_tables_base(cfg);
}

/* The image exists, is readable, has the right format and fits. */
int boot_check_image(struct vm_config *cfg)
{
	static const unsigned char elfmag[4] = { 0x7f, 'E', 'L', 'F' };
	unsigned char magic[4] = { 0 };
	uint64_t limit = boot_image_limit(cfg);
	struct stat st;
	FILE *f;

	f = fopen(cfg->image, "r");
	if (!f) {
		config_error(cfg, KEY_IMAGE, "%s: %s", cfg->image, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fclose(f);
		config_error(cfg, KEY_IMAGE, "%s: not a regular file", cfg->image);
		return -1;
	}
	if (fread(magic, 1, 4, f) != 4)
		memset(magic, 0, 4);
	fclose(f);

	if (cfg->format == FORMAT_ELF) {
		if (memcmp(magic, elfmag, 4)) {
			config_error(cfg, KEY_IMAGE, "%s: not an ELF file (format = elf)",
				     cfg->image);
			return -1;
		}
		return 0;	/* the loader checks its segments */
	}
	if (!memcmp(magic, elfmag, 4)) {
		config_error(cfg, KEY_IMAGE, "%s: an ELF file, but format = raw (say format = elf)",
			     cfg->image);
		return -1;
	}
	if (st.st_size == 0) {
		config_error(cfg, KEY_IMAGE, "%s: empty", cfg->image);
		return -1;
	}
	if (cfg->load >= limit || (uint64_t)st.st_size > limit - cfg->load) {
		config_error(cfg, KEY_IMAGE,
			     "%s: %lld bytes at %#llx do not fit below %#llx (memory = %lluK%s)",
			     cfg->image, (long long)st.st_size,
			     (unsigned long long)cfg->load, (unsigned long long)limit,
			     (unsigned long long)cfg->memory >> 10,
			     cfg->mode == MODE_REAL ? "" : ", less vmrun's page tables");
		return -1;
	}
	return 0;
}

/* [disk] path: a regular file of whole sectors, open for what it needs. */
static int check_disk(struct vm_config *cfg)
{
	struct stat st;

	if (!cfg->disk[0])
		return 0;
	if (stat(cfg->disk, &st)) {
		config_error(cfg, KEY_DISK, "%s: %s", cfg->disk, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		config_error(cfg, KEY_DISK, "%s: not a regular file", cfg->disk);
		return -1;
	}
	if (access(cfg->disk, cfg->disk_readonly ? R_OK : R_OK | W_OK)) {
		config_error(cfg, KEY_DISK, "%s: %s%s", cfg->disk, strerror(errno),
			     cfg->disk_readonly ? "" : " (readonly = yes to use it read-only)");
		return -1;
	}
	if (!st.st_size || st.st_size % 512) {
		config_error(cfg, KEY_DISK, "%s: %lld bytes, not a whole number of 512-byte sectors",
			     cfg->disk, (long long)st.st_size);
		return -1;
	}
	return 0;
}

/* A Linux kernel: what can be checked before the image is read. */
static int linux_check_config(struct vm_config *cfg)
{
	static const enum cfg_key unused[] = { KEY_MODE, KEY_LOAD, KEY_ENTRY };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(unused); i++) {
		if (cfg->set[unused[i]]) {
			config_error(cfg, unused[i], "not used with format = %s (the kernel starts in long mode at its 64-bit entry)",
				     cfg->format == FORMAT_VMLINUX ? "vmlinux" : "bzimage");
			return -1;
		}
	}
	cfg->mode = MODE_LONG;
	if (cfg->memory > LINUX_MEMORY_MAX) {
		config_error(cfg, KEY_MEMORY, "%lluM: a Linux guest has at most %lluM",
			     (unsigned long long)cfg->memory >> 20,
			     LINUX_MEMORY_MAX >> 20);
		return -1;
	}
	if (cfg->memory < 2 * LINUX_KERNEL) {
		config_error(cfg, KEY_MEMORY, "%lluK is too small for a Linux kernel",
			     (unsigned long long)cfg->memory >> 10);
		return -1;
	}
	return 0;
}

int config_finish(struct vm_config *cfg)
{
	struct sysinfo si;

	if (cfg->error[0])
		return -1;
	if (!cfg->set[KEY_IMAGE]) {
		config_error(cfg, KEY_IMAGE, "missing: say which guest image to boot ([boot] image = FILE)");
		return -1;
	}
	if (format_is_linux(cfg->format) && linux_check_config(cfg))
		return -1;
	if (!sysinfo(&si) && cfg->memory > (uint64_t)si.totalram * si.mem_unit) {
		config_error(cfg, KEY_MEMORY, "%lluM is more than the host's %lluM of RAM",
			     (unsigned long long)cfg->memory >> 20,
			     (unsigned long long)si.totalram * si.mem_unit >> 20);
		return -1;
	}
	if (cfg->mode != MODE_REAL && cfg->memory < 2 * BOOT_TABLES_SIZE) {
		config_error(cfg, KEY_MEMORY, "%lluK is too small for %s mode (at least %luK)",
			     (unsigned long long)cfg->memory >> 10,
			     cpu_mode_name[cfg->mode], 2 * BOOT_TABLES_SIZE >> 10);
		return -1;
	}
	if (cfg->mode == MODE_REAL && cfg->set[KEY_ENTRY] && cfg->entry >= 1 << 20) {
		config_error(cfg, KEY_ENTRY, "%#llx is beyond the 1M real mode can reach",
			     (unsigned long long)cfg->entry);
		return -1;
	}
	if (cfg->mode != MODE_LONG && cfg->set[KEY_ENTRY] && cfg->entry >> 32) {
		config_error(cfg, KEY_ENTRY, "%#llx is beyond 4G: %s mode cannot reach it",
			     (unsigned long long)cfg->entry, cpu_mode_name[cfg->mode]);
		return -1;
	}
	if (format_is_linux(cfg->format))
		return check_disk(cfg);	/* linux_load() checks the kernel */
	if (cfg->set[KEY_DISK]) {
		config_error(cfg, KEY_DISK, "a disk only for a Linux kernel (format = bzimage or vmlinux)");
		return -1;
	}
	if (cfg->rng) {
		config_error(cfg, KEY_RNG, "yes: only for a Linux kernel (format = bzimage or vmlinux)");
		return -1;
	}
	if (cfg->set[KEY_INITRD] || cfg->set[KEY_CMDLINE] ||
	    cfg->set[KEY_RAM_BELOW_4G]) {
		enum cfg_key key = cfg->set[KEY_INITRD] ? KEY_INITRD :
				   cfg->set[KEY_CMDLINE] ? KEY_CMDLINE : KEY_RAM_BELOW_4G;

		config_error(cfg, key, "only for a Linux kernel (format = bzimage or vmlinux)");
		return -1;
	}
	return boot_check_image(cfg);
}
