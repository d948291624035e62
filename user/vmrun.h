/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmrun: run a guest described by a config file (see vmrun(1), guest.cfg(5)).
 *
 * config.c   the config file and the command-line overrides (no KVM here:
 *            the host-side unit tests link it alone)
 * boot.c     the guest image and the initial CPU state of each mode
 * vmrun.c    the device, the vCPU threads and the run loop
 * device.c   device instances, their dispatch and interrupt lines
 * bus.c      the port and MMIO buses (no KVM: unit-tested alone)
 * dev_*.c    device classes, one per file
 */
#ifndef VMRUN_H
#define VMRUN_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <asm/bootparam.h>
#include <asm/e820.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Linux's boot layout in guest memory (linux.c). */
#define LINUX_GDT		0x500
#define LINUX_BOOT_CS		0x10
#define LINUX_BOOT_DS		0x18
#define LINUX_ZERO_PAGE		0x7000
#define LINUX_PML4		0x9000
#define LINUX_CMDLINE		0x20000
#define LINUX_CMDLINE_MAX	4096
#define LINUX_EBDA		0x9fc00
#define LINUX_KERNEL		0x100000
/* The ACPI tables (acpi.c) in the BIOS area, and what they name. */
#define ACPI_BASE		0xf0000
#define ACPI_SIZE		0x10000
#define ACPI_SCI_IRQ		9
#define ACPI_PM1_EVT		0x600
#define ACPI_PM1_CNT		0x604
#define ACPI_SLP_TYP_S5		5
#define ACPI_RESET_PORT		0x64
#define ACPI_RESET_VALUE	0xfe
#define RTC_CENTURY		0x32	/* the CMOS byte, dev_rtc.c */
#define LAPIC_BASE		0xfee00000
#define IOAPIC_BASE		0xfec00000
/*
 * A Linux guest's RAM below 4G ends at max_ram_below_4g (at most 3G,
 * below the 32-bit hole where the virtio devices, IOAPIC and LAPIC
 * are); the rest is at 4G, in a second memory slot.
 */
#define LINUX_LOW_MAX		(3ULL << 30)
#define LINUX_MEMORY_MAX	(1ULL << 40)
#define HIGH_MEM_BASE		(1ULL << 32)

enum cpu_mode { MODE_REAL, MODE_PROTECTED, MODE_LONG };
enum image_format { FORMAT_RAW, FORMAT_ELF, FORMAT_BZIMAGE, FORMAT_VMLINUX };

/* A Linux kernel, booted on the PC platform with the 64-bit protocol. */
static inline bool format_is_linux(enum image_format f)
{
	return f == FORMAT_BZIMAGE || f == FORMAT_VMLINUX;
}
enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };
enum vm_action { ACTION_EXIT, ACTION_RESTART };

/* The config keys; where[] remembers the line that set each one. */
enum cfg_key {
	KEY_NAME, KEY_MEMORY, KEY_VCPUS, KEY_DEVICE, KEY_CONSOLE,
	KEY_ON_POWEROFF, KEY_ON_CRASH, KEY_ON_REBOOT,
	KEY_IMAGE, KEY_FORMAT, KEY_MODE, KEY_LOAD, KEY_ENTRY,
	KEY_INITRD, KEY_CMDLINE,
	KEY_DISK, KEY_DISK_READONLY, KEY_RNG, KEY_RAM_BELOW_4G,
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
	uint64_t ram_below_4g;			/* a Linux guest's, at most */
	unsigned int vcpus;
	char device[PATH_MAX];
	bool stats;				/* --stats: all the accounting at exit */
	enum console_kind console;
	char console_path[PATH_MAX];
	enum vm_action on_poweroff, on_crash, on_reboot;
	char image[PATH_MAX];			/* resolved against file's dir */
	enum image_format format;
	enum cpu_mode mode;
	uint64_t load, entry;
	char initrd[PATH_MAX];			/* bzImage: "" for none */
	char cmdline[LINUX_CMDLINE_MAX];	/* bzImage */
	char disk[PATH_MAX];			/* [disk] path: "" for none */
	bool disk_readonly;
	bool rng;				/* rng = yes: a virtio-rng */
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
/* RAM at 0: all of it, or a Linux guest's up to max_ram_below_4g. */
uint64_t config_low_memory(const struct vm_config *cfg);
int boot_check_image(struct vm_config *cfg);

/* Ranges of ports or guest physical addresses, and who answers them. */
struct bus_range {
	uint64_t base, len;
	struct device *dev;
};

struct bus {
	struct bus_range *range;	/* sorted by base, never overlapping */
	unsigned int nr;
};

/* 0, or -1 with errno EINVAL (empty, wraps) or EEXIST (overlaps). */
int bus_add(struct bus *bus, uint64_t base, uint64_t len, struct device *dev);
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
void bus_free(struct bus *bus);

struct vm;
struct io_handler;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool halted;
};

/* Why the VM stopped; the first reason wins. */
/* vmrun's exit statuses besides the guest's own (vmrun(1)). */
#define STATUS_ERROR	1	/* the device or the host failed us */
#define STATUS_CONFIG	2	/* a bad config or command line */
#define STATUS_CRASH	3	/* triple fault, fatal exit, guest panic */

enum vm_stop {
	STOP_NONE, STOP_POWEROFF, STOP_HALT, STOP_CRASH, STOP_SIGNAL, STOP_ERROR,
	STOP_REBOOT,
};

struct vm {
	struct vm_config *cfg;
	int sys_fd, fd;
	uint8_t *mem;				/* all of RAM, low then high */
	uint64_t mem_size;
	uint64_t low_size;			/* at 0; the rest at 4G */
	struct vcpu *vcpus;
	int console_fd;
	bool irqchip;				/* KVM_CREATE_IRQCHIP made */
	struct device *devices;			/* in creation order */
	struct bus pio_bus, mmio_bus;
	struct {				/* io.c */
		int epfd, stopfd;
		pthread_t thread;
		bool running;
		bool escape;			/* Ctrl-A seen */
		struct io_handler *handlers;
		struct io_handler *console;	/* standard input's, or NULL */
		bool console_paused;		/* the UART's lock */
	} io;
	pthread_t main_thread;
	pthread_mutex_t lock;			/* the fields below */
	enum vm_stop stop;
	int status;				/* vmrun's exit status */
	unsigned int halted;
	struct timespec start;			/* CLOCK_MONOTONIC at creation */
	long long boot_ns;			/* boot timer: 0 until written */
};

void vm_stop(struct vm *vm, enum vm_stop why, int status);
bool vm_stopping(struct vm *vm);

void vm_print_stats(struct vm *vm, bool detail);

int boot_load_image(struct vm *vm, uint64_t *entry);
int boot_setup_vcpu(struct vcpu *vcpu, uint64_t entry);

/*
 * elf.c: fmt into err (n bytes), and -1, so that a parser of elf.c or
 * linux.c can "return errf(err, n, ...);".
 */
int errf(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* elf.c: an x86 ELF executable's entry and PT_LOAD segments. */
#define ELF_MAX_SEGMENTS	16

struct elf_segment {
	uint64_t off, paddr, filesz, memsz;
};

struct elf_image {
	bool is64;
	uint64_t entry;
	unsigned int nr;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/* 0, or -1 with the reason (no file name) in err. */
int elf_parse(const uint8_t *img, size_t size, struct elf_image *e,
	      char *err, size_t n);
/* The segments of img to mem + p_paddr, their BSS zeroed (they fit). */
void elf_copy(const struct elf_image *e, const uint8_t *img, uint8_t *mem);

/* linux.c: a Linux kernel's 64-bit boot (a bzImage or a vmlinux). */
struct linux_kernel {
	struct setup_header hdr;		/* a vmlinux: vmrun's own */
	const uint8_t *kernel;			/* bzImage: the protected-mode part */
	size_t kernel_size;
	bool is_elf;				/* a vmlinux, with its segments: */
	struct elf_image elf;
	uint64_t entry;				/* the 64-bit entry point */
};

/* 0, or -1 with the reason (no file name) in err. */
int linux_parse(const uint8_t *img, size_t size, struct linux_kernel *k,
		char *err, size_t n);
int linux_parse_vmlinux(const uint8_t *img, size_t size,
			struct linux_kernel *k, char *err, size_t n);
/* The e820 map of low bytes at 0 and high at 4G; its length. */
unsigned int linux_e820(uint64_t low, uint64_t high,
			struct boot_e820_entry *e);
/* The first byte after what the kernel needs to decompress and start. */
uint64_t linux_kernel_end(const struct linux_kernel *k);
/* Where an initrd of size bytes goes; 0 when it does not fit. */
uint64_t linux_initrd_addr(const struct linux_kernel *k, uint64_t mem,
			   uint64_t size);
int linux_load(struct vm *vm, uint64_t *entry);

/*
 * A device the DSDT describes: its registers (MMIO, or ports when io),
 * its GSI (level, high; -1 for none), its _HID, and its name.
 */
struct acpi_dev {
	uint32_t base, size;
	int gsi;
	bool io;
	const char *hid;		/* 8 characters */
	const char *name;		/* 4 characters; NULL: VRnn */
};

#define ACPI_MAX_DEVS		8

/*
 * acpi.c: RSDP, XSDT, FADT, DSDT (with the ndevs devices) and MADT
 * for vcpus vCPUs in buf (size bytes), which the guest sees at gpa; the
 * RSDP first.  Returns the bytes used, or 0 if they do not fit.
 */
size_t acpi_build(uint8_t *buf, size_t size, uint64_t gpa, unsigned int vcpus,
		  const struct acpi_dev *devs, unsigned int ndevs);

/*
 * Devices.  A class is what a kind of device does; an instance is one
 * such device in one VM (its registers, its ranges, its interrupt
 * line), created with the VM and freed with it, so a restart starts
 * from fresh state.  pio() and mmio() handle one access of 1, 2, 4 (or,
 * MMIO, 8) bytes at addr (a port or a guest physical address) in a
 * range the instance added; data is the guest's value (a write) or the
 * answer (a read).  The bus calls
 * them with dev->lock held, from any vCPU thread; a model's other
 * threads (input, timers) take it too.  Lock order: dev->lock, then
 * vm->lock.
 */
struct device;

struct device_class {
	const char *name;
	size_t priv_size;			/* dev->priv, zeroed */
	/* Adds the instance's ranges (dev_add_pio/mmio); 0 or -1. */
	int (*init)(struct device *dev);
	/* Power-on state; called after init. */
	void (*reset)(struct device *dev);
	void (*pio)(struct device *dev, struct vcpu *vcpu, uint64_t addr,
		    bool write, uint8_t *data, unsigned int size);
	void (*mmio)(struct device *dev, struct vcpu *vcpu, uint64_t addr,
		     bool write, uint8_t *data, unsigned int size);
	void (*free)(struct device *dev);
	/* vmrun --stats: a line on stderr (optional). */
	void (*stats)(struct device *dev);
};

struct device {
	const struct device_class *cls;
	struct vm *vm;
	char name[16];			/* "uart0" */
	uint64_t base;			/* the port or address init adds */
	int irq;			/* the GSI it raises; -1: none */
	const void *arg;		/* the class's, from dev_create_arg() */
	pthread_mutex_t lock;
	void *priv;
	struct device *next;
};

/* device.c: instances, dispatch and interrupt lines. */
struct device *dev_create(struct vm *vm, const struct device_class *cls,
			  const char *name, uint64_t base, int irq);
struct device *dev_create_arg(struct vm *vm, const struct device_class *cls,
			      const char *name, uint64_t base, int irq,
			      const void *arg);
int dev_add_pio(struct device *dev, uint16_t port, uint16_t nr);
int dev_add_mmio(struct device *dev, uint64_t gpa, uint64_t len);
void dev_free_all(struct vm *vm);
/* The first instance of a class, or NULL. */
struct device *dev_find(struct vm *vm, const struct device_class *cls);
void dev_pio(struct vcpu *vcpu, uint16_t port, bool write, uint8_t *data,
	     unsigned int size);
void dev_mmio(struct vcpu *vcpu, uint64_t gpa, bool write, uint8_t *data,
	      unsigned int size);
/* Drives the device's interrupt line (no-op without one or an irqchip). */
void dev_irq_set(struct device *dev, bool level);
/* Guest RAM at gpa for len bytes (low or high, not both), or NULL. */
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);

extern const struct device_class dev_uart, dev_exit, dev_boot_timer;
extern const struct device_class dev_pm, dev_kbc, dev_rtc, dev_pvpanic;
#define PVPANIC_PORT		0x505

/*
 * virtio.c: the virtio-mmio transport.  An instance of dev_virtio_mmio
 * is created with dev_create_arg() and its struct virtio_type.
 */
#define VIRTIO_MMIO_SIZE	0x200
#define VIRTIO_QUEUE_MAX	256
#define VIRTIO_MAX_QUEUES	2
#define VIRTIO_MAX_CHAIN	64
/* Where vmrun puts them, and their GSIs (level-triggered, above ISA's). */
#define VIRTIO_BASE		0xd0001000
#define VIRTIO_SLOT_SIZE	0x1000
#define VIRTIO_GSI		16
#define VIRTIO_MAX_DEVS		4

struct virtq {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx;
};

struct virtio_buf {
	void *p;			/* in guest memory */
	uint32_t len;
	bool write;			/* the device writes it */
};

struct virtio_chain {
	unsigned int nr;
	struct virtio_buf buf[VIRTIO_MAX_CHAIN];
};

/* features and config may be NULL: none, and an empty config space. */
struct virtio_type {
	uint32_t device_id;
	unsigned int nr_queues;
	int (*init)(struct device *dev);
	void (*free)(struct device *dev);
	void (*reset)(struct device *dev);
	uint64_t (*features)(struct device *dev);
	/* The config space into buf; its size. */
	size_t (*config)(struct device *dev, uint8_t *buf, size_t n);
	/* The driver made buffers available in q. */
	void (*notify)(struct device *dev, struct virtq *q);
};

struct virtio_kick_slot {
	struct device *dev;
	unsigned int queue;
};

struct virtio_dev {
	const struct virtio_type *type;
	void *type_priv;
	uint32_t status, isr, config_gen;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t drv_features;
	bool irq;			/* the line (or irqfd) is raised */
	struct virtq q[VIRTIO_MAX_QUEUES];
	/* The eventfd paths (-1: exits and KVM_IRQ_LINE). */
	int kickfd[VIRTIO_MAX_QUEUES], irqfd, resamplefd;
	struct virtio_kick_slot kick[VIRTIO_MAX_QUEUES];
	uint64_t kicks_eventfd, kicks_exit, irqs_irqfd;
};

extern const struct device_class dev_virtio_mmio;
extern const struct virtio_type virtio_blk, virtio_rng;

struct virtio_slot {
	const char *name;
	const struct virtio_type *type;
	uint32_t base, gsi;
};

unsigned int virtio_slots(const struct vm_config *cfg,
			  struct virtio_slot s[VIRTIO_MAX_DEVS]);

void *virtio_gpa(struct device *dev, uint64_t gpa, uint64_t len);
void virtio_fail(struct device *dev);
int virtio_pop(struct device *dev, struct virtq *q, struct virtio_chain *c);
int virtio_push(struct device *dev, struct virtq *q, uint16_t head,
		uint32_t written);

/*
 * dev_uart: bytes for the receive FIFO (dev->lock held); false when it
 * held some back, and then the console pauses until io_console_resume().
 */
#define UART_HELD	4096
bool uart_input(struct device *dev, const uint8_t *buf, size_t n);

/* io.c: the I/O thread (console input, eventfds). */
int io_init(struct vm *vm);
int io_start(struct vm *vm);
void io_stop(struct vm *vm);
int io_add(struct vm *vm, int fd, void (*fn)(struct vm *, int, void *),
	   void *arg);
/* The UART took all it held: read console input again (its lock held). */
void io_console_resume(struct vm *vm);

/* dev_exit: a write of a value ends the VM with that status. */
#define EXIT_PORT	0xf4
#define EXIT_MMIO	0xd0000000ULL
#define BOOT_TIMER_PORT	0xf5

#endif /* VMRUN_H */
