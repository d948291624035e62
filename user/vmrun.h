/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmrun: run a guest described by a config file (see vmrun(1), guest.cfg(5)).
 *
 * config.c   the config file and the command-line overrides (no KVM here:
 *            the host-side unit tests link it alone)
 * boot.c     the guest image and the initial CPU state of each mode
 * vmrun.c    the device, the vCPU threads and the run loop
 * dev_*.c    device models, one per file, dispatched through devices[]
 */
#ifndef VMRUN_H
#define VMRUN_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

enum cpu_mode { MODE_REAL, MODE_PROTECTED, MODE_LONG };
enum image_format { FORMAT_RAW, FORMAT_ELF };
enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };
enum vm_action { ACTION_EXIT, ACTION_RESTART };

/* The config keys; where[] remembers the line that set each one. */
enum cfg_key {
	KEY_NAME, KEY_MEMORY, KEY_VCPUS, KEY_DEVICE, KEY_CONSOLE,
	KEY_ON_POWEROFF, KEY_ON_CRASH,
	KEY_IMAGE, KEY_FORMAT, KEY_MODE, KEY_LOAD, KEY_ENTRY,
	NR_KEYS
};

struct cfg_where {
	const char *file;	/* NULL: the command line */
	int line;		/* -1: the command line */
};

struct vm_config {
	const char *file;			/* the config file */
	char name[64];
	uint64_t memory;			/* bytes */
	unsigned int vcpus;
	char device[PATH_MAX];
	bool stats;				/* --stats: all the accounting at exit */
	enum console_kind console;
	char console_path[PATH_MAX];
	enum vm_action on_poweroff, on_crash;
	char image[PATH_MAX];			/* resolved against file's dir */
	enum image_format format;
	enum cpu_mode mode;
	uint64_t load, entry;
	bool set[NR_KEYS];
	struct cfg_where where[NR_KEYS];
	char error[640];			/* the first error, one line */
};

extern const char *const cfg_key_name[NR_KEYS];
extern const char *const cpu_mode_name[];

void config_init(struct vm_config *cfg);
/* 0, or -1 with cfg->error set. */
int config_parse_file(struct vm_config *cfg, const char *file);
int config_set(struct vm_config *cfg, enum cfg_key key, const char *value,
	       const struct cfg_where *where);
int config_set_option(struct vm_config *cfg, const char *key, const char *value);
/* Checks that need every key: called once the file and options are in. */
int config_finish(struct vm_config *cfg);
int parse_size(const char *s, uint64_t *out);
void config_error(struct vm_config *cfg, enum cfg_key key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* vmrun's GDT and page tables (protected, long mode): the last 32K below 4G. */
#define BOOT_TABLES_SIZE	(8 * 4096UL)
uint64_t boot_tables_base(const struct vm_config *cfg);
uint64_t boot_image_limit(const struct vm_config *cfg);
int boot_check_image(struct vm_config *cfg);

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool halted;
};

/* Why the VM stopped; the first reason wins. */
enum vm_stop {
	STOP_NONE, STOP_POWEROFF, STOP_HALT, STOP_CRASH, STOP_SIGNAL, STOP_ERROR,
};

struct vm {
	struct vm_config *cfg;
	int sys_fd, fd;
	uint8_t *mem;
	uint64_t mem_size;
	struct vcpu *vcpus;
	int console_fd;
	pthread_t main_thread;
	pthread_mutex_t lock;			/* the fields below */
	enum vm_stop stop;
	int status;				/* vmrun's exit status */
	unsigned int halted;
};

void vm_stop(struct vm *vm, enum vm_stop why, int status);
bool vm_stopping(struct vm *vm);

void vm_print_stats(struct vm *vm, bool detail);

int boot_load_image(struct vm *vm, uint64_t *entry);
int boot_setup_vcpu(struct vcpu *vcpu, uint64_t entry);

/*
 * A device model: a range of IO ports, a range of guest physical
 * addresses outside RAM (MMIO), or both.  io() and mmio() handle one
 * access of 1, 2, 4 (or, MMIO, 8) bytes; data is the guest's value (a
 * write) or the answer (a read).  Called from any vCPU thread: models
 * lock what they share.
 */
struct device_model {
	const char *name;
	uint16_t port, nr_ports;
	uint64_t mmio_base, mmio_size;
	void (*io)(struct vcpu *vcpu, uint16_t port, bool out, uint8_t *data,
		   unsigned int size);
	void (*mmio)(struct vcpu *vcpu, uint64_t gpa, bool write, uint8_t *data,
		     unsigned int size);
};

extern const struct device_model dev_uart, dev_exit;

/* dev_exit: a write of a value ends the VM with that status. */
#define EXIT_PORT	0xf4
#define EXIT_MMIO	0xd0000000ULL

#endif /* VMRUN_H */
