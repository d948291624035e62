// SPDX-License-Identifier: GPL-2.0
/*
 * vmrun: run a guest described by a config file on /dev/minikvm (or any
 * device speaking KVM's ioctls, e.g. /dev/kvm).  See vmrun(1).
 *
 * Threads: main() builds the VM, starts one thread per vCPU, then waits
 * for a signal: SIGINT/SIGTERM (the user) or SIGUSR2 (a vCPU stopped the
 * VM).  It then kicks every vCPU out of KVM_RUN with SIGUSR1, whose
 * handler sets the vCPU's immediate_exit so that no kick is ever lost,
 * and joins them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/minikvm.h>
#include "vmrun.h"

/* vmrun's own exit statuses; a guest's power-off gives its own. */

/* Every IO port a guest can reach, one model per file. */

static pthread_cond_t vm_cond = PTHREAD_COND_INITIALIZER;
/* One register dump at a time; never held with vm->lock. */
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct kvm_run *this_run;

static void kick(int sig)
{
	if (this_run)
		this_run->immediate_exit = 1;
}

void vm_stop(struct vm *vm, enum vm_stop why, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->stop == STOP_NONE) {
		vm->stop = why;
		vm->status = status;
	}
	pthread_cond_broadcast(&vm_cond);
	pthread_mutex_unlock(&vm->lock);
	pthread_kill(vm->main_thread, SIGUSR2);
}

bool vm_stopping(struct vm *vm)
{
	bool r;

	pthread_mutex_lock(&vm->lock);
	r = vm->stop != STOP_NONE;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s %04x base %016llx limit %08x type %x%s%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->l ? " l" : "", s->db ? " db" : "");
}

static void dump_vcpu(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "  (cannot read the registers: %s)\n", strerror(errno));
		return;
	}
	fprintf(stderr,
		"  rip %016llx rflags %016llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rsp %016llx rbp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n",
		r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
		r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
		r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg("cs", &s.cs);
	dump_seg("ds", &s.ds);
	dump_seg("ss", &s.ss);
	fprintf(stderr, "  gdt base %016llx limit %04x  idt base %016llx limit %04x\n",
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

static void crash(struct vcpu *vcpu, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void crash(struct vcpu *vcpu, const char *fmt, ...)
{
	struct vm *vm = vcpu->vm;
	va_list ap;

	pthread_mutex_lock(&dump_lock);
	fprintf(stderr, "vmrun: %s: vCPU %d: ", vm->cfg->name, vcpu->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_vcpu(vcpu);
	pthread_mutex_unlock(&dump_lock);
	vm_stop(vm, STOP_CRASH, STATUS_CRASH);
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned int i;

	for (i = 0; i < run->io.count; i++, data += run->io.size)
		dev_pio(vcpu, run->io.port, out, data, run->io.size);
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len;

	dev_mmio(vcpu, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
		 len > 8 ? 8 : len);
}

/* HLT: with no interrupt sources, a halted vCPU stays halted. */
static void handle_hlt(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool all;

	pthread_mutex_lock(&vm->lock);
	all = ++vm->halted == vm->cfg->vcpus;
	pthread_mutex_unlock(&vm->lock);
	if (all) {
		fprintf(stderr, "vmrun: %s: every vCPU halted and nothing can wake them: powering off\n",
			vm->cfg->name);
		vm_stop(vm, STOP_HALT, 0);
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->stop == STOP_NONE)
		pthread_cond_wait(&vm_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static const char *const exit_name[] = {
	[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
	[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
	[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
	[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
	[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
	[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
};

/* One exit; false when the vCPU is done. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_HLT:
		handle_hlt(vcpu);
		return false;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		crash(vcpu, "triple fault (KVM_EXIT_SHUTDOWN); its registers (AMD SVM resets them on a triple fault):");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		crash(vcpu, "the CPU refused to enter the guest (KVM_EXIT_FAIL_ENTRY, reason %#llx)",
		      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		crash(vcpu, "%s could not handle an exit (KVM_EXIT_INTERNAL_ERROR, suberror %u%s, data %#llx %#llx)",
		      vm->cfg->device, run->internal.suberror,
		      run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
		      ": an instruction it cannot emulate" : "",
		      run->internal.ndata > 0 ? (unsigned long long)run->internal.data[0] : 0ULL,
		      run->internal.ndata > 1 ? (unsigned long long)run->internal.data[1] : 0ULL);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_stop(vm, STOP_POWEROFF, 0);
			return false;
		}
		crash(vcpu, "system event %u (KVM_EXIT_SYSTEM_EVENT)",
		      run->system_event.type);
		return false;
	default:
		crash(vcpu, "unexpected exit reason %u (%s)", run->exit_reason,
		      run->exit_reason < ARRAY_SIZE(exit_name) &&
		      exit_name[run->exit_reason] ? exit_name[run->exit_reason] :
		      "unknown to vmrun");
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick_set;

	this_run = vcpu->run;
	sigemptyset(&kick_set);
	sigaddset(&kick_set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick_set, NULL);

	while (!vm_stopping(vm)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			fprintf(stderr, "vmrun: %s: vCPU %d: KVM_RUN: %s\n",
				vm->cfg->name, vcpu->id, strerror(errno));
			vm_stop(vm, STOP_ERROR, STATUS_ERROR);
			break;
		}
		if (!handle_exit(vcpu))
			break;
	}
	this_run = NULL;
	return NULL;
}

static int open_device(struct vm *vm)
{
	const char *dev = vm->cfg->device;
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	bool kvm = !strcmp(dev, "/dev/kvm");

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
		fprintf(stderr, "vmrun: %s: %s (is the module loaded? try: modprobe %s)\n",
			dev, strerror(errno), kvm ? "kvm_amd or kvm_intel" : "minikvm");
	else if (errno == EACCES || errno == EPERM)
		fprintf(stderr, "vmrun: %s: %s (add yourself to group kvm: sudo usermod -aG kvm $USER, then log in again)\n",
			dev, strerror(errno));
	else
		fprintf(stderr, "vmrun: %s: %s\n", dev, strerror(errno));
	return -1;
}

/*
 * A PC's interrupt controllers and timer in the kernel: LAPICs, IOAPIC,
 * PICs (KVM_CREATE_IRQCHIP) and the PIT (KVM_CREATE_PIT2), for a guest
 * that takes interrupts.  Then HLT sleeps in the kernel and no longer
 * exits.
 */
static int create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	const char *what = "KVM_CREATE_IRQCHIP";

	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	vm->irqchip = true;
	what = "KVM_CREATE_PIT2";
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "vmrun: %s: %s: %s: %s\n", vm->cfg->name, vm->cfg->device,
		what, strerror(errno));
	return -1;
}

static int start_vm(struct vm *vm)
{
	struct vm_config *cfg = vm->cfg;
	struct kvm_userspace_memory_region region;
	struct virtio_slot slots[VIRTIO_MAX_DEVS];
	uint64_t entry = 0;
	long max, mmap_size;
	unsigned int i, nslots;

	vm->sys_fd = open_device(vm);
	if (vm->sys_fd < 0)
		return STATUS_ERROR;
	if (ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "vmrun: %s: not a KVM device (API version is not %d)\n",
			cfg->device, KVM_API_VERSION);
		return STATUS_ERROR;
	}
	max = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;	/* what api.rst promises without the capability */
	if (cfg->vcpus > max) {
		config_error(cfg, KEY_VCPUS, "%u vCPUs: %s runs at most %ld (KVM_CAP_MAX_VCPUS)",
			     cfg->vcpus, cfg->device, max);
		return STATUS_CONFIG;
	}
	vm->fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		fprintf(stderr, "vmrun: %s: cannot create a VM: %s%s\n", cfg->device,
			strerror(errno), errno == EBUSY ?
			" (is KVM loaded? minikvm and kvm_amd/kvm_intel cannot both use the CPU's virtualization)" : "");
		return STATUS_ERROR;
	}
	/* The name vmctl shows; /dev/kvm has no such ioctl. */
	if (!strcmp(cfg->device, MINIKVM_DEVICE_PATH) &&
	    ioctl(vm->fd, MINIKVM_SET_VM_NAME, cfg->name) && errno != ENOTTY)
		fprintf(stderr, "vmrun: %s: cannot name the VM: %s\n", cfg->name,
			strerror(errno));

	vm->mem_size = cfg->memory;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		config_error(cfg, KEY_MEMORY, "cannot allocate %lluM: %s",
			     (unsigned long long)vm->mem_size >> 20, strerror(errno));
		return STATUS_CONFIG;
	}
	/* One mapping; RAM past the low part is a second slot at 4G. */
	vm->low_size = config_low_memory(cfg);
	for (i = 0; i < 2; i++) {
		region = (struct kvm_userspace_memory_region){
			.slot = i, .guest_phys_addr = i ? HIGH_MEM_BASE : 0,
			.memory_size = i ? vm->mem_size - vm->low_size : vm->low_size,
			.userspace_addr = (uintptr_t)vm->mem + (i ? vm->low_size : 0),
		};
		if (!region.memory_size)
			continue;
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			config_error(cfg, KEY_MEMORY, "%s refuses %lluM of guest memory at %#llx: %s",
				     cfg->device,
				     (unsigned long long)region.memory_size >> 20,
				     (unsigned long long)region.guest_phys_addr,
				     strerror(errno));
			return STATUS_CONFIG;
		}
	}
	if (boot_load_image(vm, &entry))
		return STATUS_CONFIG;
	if (io_init(vm) ||
	    (format_is_linux(cfg->format) && create_irqchip(vm)))
		return STATUS_ERROR;
	if (!dev_create(vm, &dev_uart, "uart0", 0x3f8, 4) ||
	    !dev_create(vm, &dev_exit, "exit", EXIT_PORT, -1) ||
	    !dev_create(vm, &dev_boot_timer, "boot-timer", BOOT_TIMER_PORT, -1))
		return STATUS_ERROR;
	/* A PC's power, reset and clock, which Linux finds through ACPI. */
	if (format_is_linux(cfg->format) &&
	    (!dev_create(vm, &dev_pm, "acpi-pm", ACPI_PM1_EVT, ACPI_SCI_IRQ) ||
	     !dev_create(vm, &dev_kbc, "i8042", 0x60, -1) ||
	     !dev_create(vm, &dev_rtc, "rtc", 0x70, 8) ||
	     !dev_create(vm, &dev_pvpanic, "pvpanic", PVPANIC_PORT, -1)))
		return STATUS_ERROR;
	/* The virtio devices, which the DSDT describes (linux.c). */
	nslots = virtio_slots(cfg, slots);
	for (i = 0; i < nslots; i++)
		if (!dev_create_arg(vm, &dev_virtio_mmio, slots[i].name,
				    slots[i].base, slots[i].gsi, slots[i].type))
			return cfg->error[0] ? STATUS_CONFIG : STATUS_ERROR;

	if (cfg->console == CONSOLE_STDIO) {
		vm->console_fd = dup(STDOUT_FILENO);
	} else if (cfg->console == CONSOLE_FILE) {
		vm->console_fd = open(cfg->console_path,
				      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->console_fd < 0) {
			config_error(cfg, KEY_CONSOLE, "%s: %s", cfg->console_path,
				     strerror(errno));
			return STATUS_CONFIG;
		}
	}

	mmap_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vcpus = calloc(cfg->vcpus, sizeof(*vm->vcpus));
	if (mmap_size <= 0 || !vm->vcpus) {
		fprintf(stderr, "vmrun: %s: KVM_GET_VCPU_MMAP_SIZE: %s\n", cfg->device,
			strerror(errno));
		return STATUS_ERROR;
	}
	for (i = 0; i < cfg->vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, i);
		if (vcpu->fd < 0) {
			fprintf(stderr, "vmrun: %s: cannot create vCPU %u: %s%s\n",
				cfg->name, i, strerror(errno),
				errno == EMFILE ? " (each vCPU is a file: raise ulimit -n)" : "");
			return STATUS_ERROR;
		}
		vcpu->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 vcpu->fd, 0);
		if (vcpu->run == MAP_FAILED) {
			vcpu->run = NULL;
			fprintf(stderr, "vmrun: %s: vCPU %u: mmap: %s\n", cfg->name,
				i, strerror(errno));
			return STATUS_ERROR;
		}
		if (boot_setup_vcpu(vcpu, entry))
			return STATUS_ERROR;
	}
	return 0;
}

static void free_vm(struct vm *vm, long mmap_size)
{
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->cfg->vcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, mmap_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	io_stop(vm);
	dev_free_all(vm);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	if (vm->console_fd >= 0)
		close(vm->console_fd);
}

/* Runs the guest once: returns vmrun's exit status, *why the reason. */
/*
 * SIGINT or SIGTERM seen: never restart, even when the guest crashed or
 * powered off just before (then vm_stop() keeps that first reason).
 */
static int stop_signal;

static int run_vm(struct vm_config *cfg, enum vm_stop *why)
{
	struct vm vm = {
		.cfg = cfg, .sys_fd = -1, .fd = -1, .console_fd = -1,
		.io = { .epfd = -1, .stopfd = -1 },
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.main_thread = pthread_self(),
	};
	unsigned int i, started = 0;
	sigset_t wait_set;
	long mmap_size = 0;
	int r, sig;

	*why = STOP_ERROR;
	clock_gettime(CLOCK_MONOTONIC, &vm.start);
	r = start_vm(&vm);
	if (r) {
		if (cfg->error[0])
			fprintf(stderr, "vmrun: %s\n", cfg->error);
		goto out;
	}
	mmap_size = ioctl(vm.sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (io_start(&vm)) {
		r = STATUS_ERROR;
		goto out;
	}

	for (i = 0; i < cfg->vcpus; i++) {
		r = pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread, &vm.vcpus[i]);
		if (r) {
			fprintf(stderr, "vmrun: %s: cannot start vCPU %u's thread: %s\n",
				cfg->name, i, strerror(r));
			vm_stop(&vm, STOP_ERROR, STATUS_ERROR);
			break;
		}
		started++;
	}

	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGINT);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGUSR2);
	while (!vm_stopping(&vm)) {
		sig = sigwaitinfo(&wait_set, NULL);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "vmrun: %s: %s: stopping the guest\n", cfg->name,
				sig == SIGINT ? "SIGINT" : "SIGTERM");
			vm_stop(&vm, STOP_SIGNAL, 128 + sig);
			stop_signal = sig;
		}
	}
	for (i = 0; i < started; i++)
		pthread_kill(vm.vcpus[i].thread, SIGUSR1);
	for (i = 0; i < started; i++)
		pthread_join(vm.vcpus[i].thread, NULL);
	*why = vm.stop;
	r = vm.status;
	if (cfg->stats && vm.boot_ns)
		fprintf(stderr, "vmrun: %s: boot: init started %.3f s after vmrun\n",
			cfg->name, vm.boot_ns / 1e9);
	if (cfg->stats) {
		struct device *dev;

		for (dev = vm.devices; dev; dev = dev->next)
			if (dev->cls->stats)
				dev->cls->stats(dev);
		vm_print_stats(&vm, true);
	}
out:
	free_vm(&vm, mmap_size);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmrun [OPTION VALUE]... [guest.cfg] [OPTION VALUE]...\n"
		"Run the guest that guest.cfg describes (see vmrun(1), guest.cfg(5)).\n"
		"Options override the config file's keys:\n"
		"  --name NAME          --memory SIZE (e.g. 64M)    --vcpus N\n"
		"  --device PATH        (default /dev/minikvm; /dev/kvm runs it on KVM)\n"
		"  --console stdio|file:PATH|none\n"
		"  --on-poweroff exit|restart   --on-crash exit|restart\n"
		"  --on-reboot exit|restart\n"
		"  --image FILE  --format raw|elf|bzimage|vmlinux\n"
		"  --mode real|protected|long  --load ADDRESS  --entry ADDRESS\n"
		"  --stats              all of the VM's accounting at exit (minikvm)\n"
		"  -h, --help\n"
		"A Linux kernel's (format bzimage or vmlinux):\n"
		"  --initrd FILE  --cmdline TEXT\n"
		"  --path FILE  --readonly yes|no   the [disk] (virtio-blk)\n"
		"  --rng yes|no         a virtio entropy device\n"
		"  --max-ram-below-4g SIZE   RAM at 0 (at most 3G); the rest at 4G\n");
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	const char *file = NULL;
	struct sigaction sa = { .sa_handler = kick };
	sigset_t block;
	enum vm_stop why;
	int i, status;

	config_init(&cfg);
	/* First the file, wherever it is among the options... */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--stats")) {
			cfg.stats = true;
			continue;
		}
		if (!strncmp(argv[i], "--", 2)) {
			if (!strchr(argv[i], '=') && i + 1 < argc)
				i++;
			continue;
		}
		if (file) {
			fprintf(stderr, "vmrun: command line: %s: one config file only (%s already)\n",
				argv[i], file);
			return STATUS_CONFIG;
		}
		file = argv[i];
	}
	if (file && config_parse_file(&cfg, file))
		goto bad_config;
	/* ...then the options, which override its keys. */
	for (i = 1; i < argc; i++) {
		char key[64];
		const char *value, *eq;

		if (strncmp(argv[i], "--", 2) || !strcmp(argv[i], "--stats"))
			continue;
		eq = strchr(argv[i], '=');
		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i] - 2), argv[i] + 2);
			value = eq + 1;
		} else if (i + 1 < argc) {
			snprintf(key, sizeof(key), "%s", argv[i] + 2);
			value = argv[++i];
		} else {
			fprintf(stderr, "vmrun: command line: %s: needs a value\n", argv[i]);
			return STATUS_CONFIG;
		}
		if (config_set_option(&cfg, key, value))
			goto bad_config;
	}
	if (!file && !cfg.set[KEY_IMAGE]) {
		usage(stderr);
		return STATUS_CONFIG;
	}
	if (config_finish(&cfg))
		goto bad_config;

	/* Signals: SIGUSR1 kicks vCPUs; the rest is for sigwaitinfo(). */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	for (;;) {
		status = run_vm(&cfg, &why);
		if (stop_signal)
			return 128 + stop_signal;
		if ((why == STOP_POWEROFF || why == STOP_HALT) &&
		    cfg.on_poweroff == ACTION_RESTART)
			fprintf(stderr, "vmrun: %s: powered off: restarting (on_poweroff = restart)\n",
				cfg.name);
		else if (why == STOP_REBOOT && cfg.on_reboot == ACTION_RESTART)
			fprintf(stderr, "vmrun: %s: rebooted: restarting (on_reboot = restart)\n",
				cfg.name);
		else if (why == STOP_CRASH && cfg.on_crash == ACTION_RESTART)
			fprintf(stderr, "vmrun: %s: crashed: restarting (on_crash = restart)\n",
				cfg.name);
		else
			return status;
	}

bad_config:
	fprintf(stderr, "vmrun: %s\n", cfg.error);
	return STATUS_CONFIG;
}
