// SPDX-License-Identifier: GPL-2.0
/*
 * VMs, guest memory and vCPUs (see vm.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "vm.h"
#include "x86.h"

#define PAGE_SIZE 4096UL

void __test_fail(const char *file, int line, const char *expr,
		 const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# %s:%d: assertion '%s' failed: ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	exit(1);	/* KSFT_FAIL: the harness counts the test failed */
}

void test_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

int kvm_open(void)
{
	int fd = open(mkvm_dev(), O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open %s: %s", mkvm_dev(), strerror(errno));
	return fd;
}

long kvm_check_cap(long cap)
{
	int fd = kvm_open();
	long r = kvm_ioctl(fd, KVM_CHECK_EXTENSION, cap);

	close(fd);
	return r;
}

struct vm *vm_create_bare(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	TEST_ASSERT(vm, "out of memory");
	vm->sys_fd = kvm_open();
	vm->fd = kvm_ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	vm->run_size = kvm_ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(vm->run_size >= (long)sizeof(struct kvm_run),
		    "KVM_GET_VCPU_MMAP_SIZE is %ld", vm->run_size);
	return vm;
}

void vm_free(struct vm *vm)
{
	int i;

	for (i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		munmap(vcpu->run, vm->run_size);
		close(vcpu->fd);
		free(vcpu);
	}
	close(vm->fd);
	close(vm->sys_fd);
	for (i = 0; i < VM_MAX_REGIONS; i++) {
		struct mem_region *r = &vm->regions[i];

		if (r->size && r->mapped_here)
			munmap(r->host, r->size);
	}
	free(vm);
}

void *host_mem_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap %zu bytes: %s", size, strerror(errno));
	return p;
}

static struct mem_region *region_of_slot(struct vm *vm, uint32_t slot)
{
	int i;

	for (i = 0; i < VM_MAX_REGIONS; i++)
		if (vm->regions[i].size && vm->regions[i].slot == slot)
			return &vm->regions[i];
	return NULL;
}

int __vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region mr = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)host,
	};
	struct mem_region *r;
	int ret, i;

	ret = __mkvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, (unsigned long)&mr);
	if (ret)
		return ret;

	/* Follow what KVM now has. */
	r = region_of_slot(vm, slot);
	if (r && !size) {
		if (r->mapped_here)
			munmap(r->host, r->size);
		memset(r, 0, sizeof(*r));
	} else if (r) {
		r->gpa = gpa;
		r->flags = flags;
	} else if (size) {
		for (i = 0; i < VM_MAX_REGIONS; i++)
			if (!vm->regions[i].size)
				break;
		TEST_ASSERT(i < VM_MAX_REGIONS, "more than %d slots", VM_MAX_REGIONS);
		vm->regions[i] = (struct mem_region){
			.slot = slot, .flags = flags, .gpa = gpa,
			.size = size, .host = host,
		};
	}
	return 0;
}

void vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, void *host)
{
	int r = __vm_set_region(vm, slot, flags, gpa, size, host);

	TEST_ASSERT(!r, "KVM_SET_USER_MEMORY_REGION slot %u gpa %#lx size %#lx: %s",
		    slot, (unsigned long)gpa, (unsigned long)size, strerror(-r));
}

void *vm_add_region(struct vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size)
{
	void *host = host_mem_alloc(size);

	vm_set_region(vm, slot, flags, gpa, size, host);
	region_of_slot(vm, slot)->mapped_here = true;
	return host;
}

void *__gpa2hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	int i;

	for (i = 0; i < VM_MAX_REGIONS; i++) {
		struct mem_region *r = &vm->regions[i];

		if (r->size && gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return (char *)r->host + (gpa - r->gpa);
	}
	return NULL;
}

void *gpa2hva(struct vm *vm, uint64_t gpa)
{
	void *p = __gpa2hva(vm, gpa, 1);

	TEST_ASSERT(p, "guest physical address %#lx is in no slot",
		    (unsigned long)gpa);
	return p;
}

uint64_t vm_alloc_pages(struct vm *vm, unsigned int npages)
{
	uint64_t gpa = vm->next_page;

	TEST_ASSERT(vm->standard, "vm_alloc_pages needs a vm_create() VM");
	TEST_ASSERT(gpa + npages * PAGE_SIZE <= vm->alloc_end,
		    "out of guest memory");
	vm->next_page += npages * PAGE_SIZE;
	memset(gpa2hva(vm, gpa), 0, npages * PAGE_SIZE);
	return gpa;
}

struct vcpu *vm_vcpu_add_raw(struct vm *vm, int id)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	TEST_ASSERT(vcpu, "out of memory");
	TEST_ASSERT(vm->nr_vcpus < VM_MAX_VCPUS, "too many vCPUs");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = __mkvm_ioctl(vm->fd, KVM_CREATE_VCPU, id);
	TEST_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU %d: %s", id,
		    strerror(-vcpu->fd));
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of kvm_run: %s",
		    strerror(errno));
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
}

int __vcpu_run(struct vcpu *vcpu)
{
	return __mkvm_ioctl(vcpu->fd, KVM_RUN, 0);
}

void vcpu_run(struct vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	if (r) {
		test_log("KVM_RUN on vCPU %d: %s", vcpu->id, strerror(-r));
		vcpu_dump(vcpu);
	}
	TEST_ASSERT(!r, "KVM_RUN failed: %s", strerror(-r));
}

void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs)
{
	kvm_ioctl(vcpu->fd, KVM_GET_REGS, regs);
}

void vcpu_set_regs(struct vcpu *vcpu, const struct kvm_regs *regs)
{
	kvm_ioctl(vcpu->fd, KVM_SET_REGS, regs);
}

void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs)
{
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS, sregs);
}

void vcpu_set_sregs(struct vcpu *vcpu, const struct kvm_sregs *sregs)
{
	kvm_ioctl(vcpu->fd, KVM_SET_SREGS, sregs);
}

uint64_t vcpu_get_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	return regs.rip;
}

void vcpu_set_rip(struct vcpu *vcpu, uint64_t rip)
{
	struct kvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	regs.rip = rip;
	vcpu_set_regs(vcpu, &regs);
}

const char *exit_reason_str(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "?";
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	test_log("  %-4s sel %04x base %016llx limit %08x type %x p%d dpl%d db%d s%d l%d g%d%s",
		 name, s->selector, (unsigned long long)s->base, s->limit,
		 s->type, s->present, s->dpl, s->db, s->s, s->l, s->g,
		 s->unusable ? " unusable" : "");
}

static void dump_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	test_log("vCPU %d exit %u (%s)", vcpu->id, run->exit_reason,
		 exit_reason_str(run->exit_reason));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		test_log("  io: %s port %#x size %u count %u data_offset %#llx",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count,
			 (unsigned long long)run->io.data_offset);
		break;
	case KVM_EXIT_MMIO:
		test_log("  mmio: %s gpa %#llx len %u data %016llx",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			 (unsigned long long)get_le(run->mmio.data, 8));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		test_log("  hardware_entry_failure_reason %#llx cpu %u",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR: {
		unsigned int i;

		test_log("  suberror %u ndata %u", run->internal.suberror,
			 run->internal.ndata);
		for (i = 0; i < run->internal.ndata && i < 16; i++)
			test_log("  data[%u] %#llx", i,
				 (unsigned long long)run->internal.data[i]);
		break;
	}
	}
}

void vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	dump_exit(vcpu);
	if (__mkvm_ioctl(vcpu->fd, KVM_GET_REGS, (unsigned long)&r) ||
	    __mkvm_ioctl(vcpu->fd, KVM_GET_SREGS, (unsigned long)&s)) {
		test_log("  (cannot read the registers)");
		return;
	}
	test_log("  rip %016llx rflags %016llx", r.rip, r.rflags);
	test_log("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", r.rax, r.rbx, r.rcx, r.rdx);
	test_log("  rsi %016llx rdi %016llx rsp %016llx rbp %016llx", r.rsi, r.rdi, r.rsp, r.rbp);
	test_log("  r8  %016llx r9  %016llx r10 %016llx r11 %016llx", r.r8, r.r9, r.r10, r.r11);
	test_log("  r12 %016llx r13 %016llx r14 %016llx r15 %016llx", r.r12, r.r13, r.r14, r.r15);
	test_log("  cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx",
		 s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	dump_seg("ds", &s.ds);
	dump_seg("tr", &s.tr);
	test_log("  gdt %llx/%x idt %llx/%x", s.gdt.base, s.gdt.limit,
		 s.idt.base, s.idt.limit);
}

void __vcpu_assert_exit(struct vcpu *vcpu, uint32_t reason,
			const char *file, int line)
{
	if (vcpu->run->exit_reason == reason)
		return;
	vcpu_dump(vcpu);
	__test_fail(file, line, "exit_reason == reason",
		    "vCPU %d: expected exit %s, got %s (%u)", vcpu->id,
		    exit_reason_str(reason),
		    exit_reason_str(vcpu->run->exit_reason),
		    vcpu->run->exit_reason);
}

void *__vcpu_assert_io(struct vcpu *vcpu, uint8_t dir, uint16_t port,
		       uint8_t size, uint32_t count, const char *file, int line)
{
	struct kvm_run *run = vcpu->run;

	__vcpu_assert_exit(vcpu, KVM_EXIT_IO, file, line);
	if (run->io.direction != dir || run->io.port != port ||
	    run->io.size != size || run->io.count != count) {
		vcpu_dump(vcpu);
		__test_fail(file, line, "io exit fields",
			    "expected %s port %#x size %u count %u",
			    dir == KVM_EXIT_IO_OUT ? "out" : "in", port, size, count);
	}
	if (run->io.data_offset < sizeof(*run) ||
	    run->io.data_offset + (uint64_t)size * count > (uint64_t)vcpu->vm->run_size)
		__test_fail(file, line, "data_offset in the mmap",
			    "io.data_offset %#llx (size %u count %u) outside the %ld-byte kvm_run mapping",
			    (unsigned long long)run->io.data_offset, size, count,
			    vcpu->vm->run_size);
	return (char *)run + run->io.data_offset;
}

uint8_t *__vcpu_assert_mmio(struct vcpu *vcpu, uint64_t gpa, uint32_t len,
			    bool is_write, const char *file, int line)
{
	struct kvm_run *run = vcpu->run;

	__vcpu_assert_exit(vcpu, KVM_EXIT_MMIO, file, line);
	if (run->mmio.phys_addr != gpa || run->mmio.len != len ||
	    !!run->mmio.is_write != is_write) {
		vcpu_dump(vcpu);
		__test_fail(file, line, "mmio exit fields",
			    "expected mmio %s gpa %#llx len %u",
			    is_write ? "write" : "read", (unsigned long long)gpa, len);
	}
	return run->mmio.data;
}

void put_le(uint8_t *p, uint64_t val, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = val >> (8 * i);
}

uint64_t get_le(const uint8_t *p, unsigned int len)
{
	uint64_t val = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		val |= (uint64_t)p[i] << (8 * i);
	return val;
}
