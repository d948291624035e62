/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMs, guest memory and vCPUs for the selftests, in the spirit of KVM's
 * own selftest library (tools/testing/selftests/kvm/lib/kvm_util.c).
 *
 * vm_create() gives a VM laid out like a small PC (see x86.h for the
 * guest-physical map): low memory below 640 KiB, a hole up to 1 MiB,
 * high memory above, descriptor tables and identity-mapping page tables
 * for every paging mode, and a copy of the test binary itself so that
 * plain C functions can run in the guest.  vm_vcpu_add() adds a vCPU with
 * its kvm_run mapped and the CPUID KVM_GET_SUPPORTED_CPUID reports.
 *
 * Everything asserts (TEST_ASSERT) unless its name starts with "__", in
 * which case it returns 0 or -errno like __mkvm_ioctl().
 */
#ifndef MKVM_LIB_VM_H
#define MKVM_LIB_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "test_util.h"

#define VM_MAX_REGIONS	32
#define VM_MAX_VCPUS	256

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	/* Guest-virtual (= physical) addresses of this vCPU's own areas. */
	uint64_t stack_top;	/* C guests run on this stack */
	uint64_t tss;		/* 64-bit TSS, IST1 = ist_top */
	uint64_t ist_top;	/* exception stack */
};

/* One memory slot as the library knows it. */
struct mem_region {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *host;
	bool mapped_here;	/* host memory mmap()ed by the library */
};

struct vm {
	int sys_fd;
	int fd;
	long run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	struct mem_region regions[VM_MAX_REGIONS];
	struct vcpu *vcpus[VM_MAX_VCPUS];
	int nr_vcpus;
	bool standard;		/* built by vm_create(): layout of x86.h */
	uint64_t next_page;	/* page allocator in high memory */
	uint64_t alloc_end;
};

/* Open the device under test ($MKVM_DEV). */
int kvm_open(void);
/* KVM_CHECK_EXTENSION on the system fd. */
long kvm_check_cap(long cap);

/* A VM with no memory and no vCPU. */
struct vm *vm_create_bare(void);
/* A VM with the standard memory layout, tables and guest image. */
struct vm *vm_create(void);
void vm_free(struct vm *vm);

/* Anonymous, page-aligned host memory for a slot. */
void *host_mem_alloc(size_t size);

/*
 * KVM_SET_USER_MEMORY_REGION.  On success the library's view of the slots
 * (used by gpa2hva) follows: size 0 deletes, a new gpa moves.
 */
int __vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *host);
void vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, void *host);
/* A new slot backed by fresh anonymous memory; returns that memory. */
void *vm_add_region(struct vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size);

/* The host address of guest-physical @gpa (which must be in a slot). */
void *gpa2hva(struct vm *vm, uint64_t gpa);
/* NULL when @gpa is in no slot, or @len bytes from it cross its end. */
void *__gpa2hva(struct vm *vm, uint64_t gpa, uint64_t len);
/* Allocate zeroed pages of guest memory (identity-mapped, so gva = gpa). */
uint64_t vm_alloc_pages(struct vm *vm, unsigned int npages);

/*
 * Copy a global variable of the test binary into the guest's copy of the
 * binary (after vm_create() took its snapshot), or back.
 */
#define sync_global_to_guest(vm, g) \
	memcpy(gpa2hva((vm), (uint64_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g) \
	memcpy(&(g), gpa2hva((vm), (uint64_t)&(g)), sizeof(g))

/*
 * KVM_CREATE_VCPU, mmap of its kvm_run, and (standard VMs) the supported
 * CPUID and the vCPU's stacks.
 */
struct vcpu *vm_vcpu_add(struct vm *vm, int id);
/* Only KVM_CREATE_VCPU + mmap: no CPUID, no guest areas. */
struct vcpu *vm_vcpu_add_raw(struct vm *vm, int id);

/* KVM_RUN: returns 0 or -errno. */
int __vcpu_run(struct vcpu *vcpu);
/* KVM_RUN that must succeed. */
void vcpu_run(struct vcpu *vcpu);

void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs);
void vcpu_set_regs(struct vcpu *vcpu, const struct kvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_set_sregs(struct vcpu *vcpu, const struct kvm_sregs *sregs);
uint64_t vcpu_get_rip(struct vcpu *vcpu);
void vcpu_set_rip(struct vcpu *vcpu, uint64_t rip);

/* Name of a KVM_EXIT_* reason. */
const char *exit_reason_str(uint32_t reason);
/* Print the exit, registers and segment state as TAP comments. */
void vcpu_dump(struct vcpu *vcpu);

/*
 * Check the last exit.  On a mismatch, say what was expected and dump
 * the vCPU: an assertion failing on a wrong exit shows why.
 */
void __vcpu_assert_exit(struct vcpu *vcpu, uint32_t reason,
			const char *file, int line);
#define vcpu_assert_exit(vcpu, reason) \
	__vcpu_assert_exit(vcpu, reason, __FILE__, __LINE__)

/* The last exit was port I/O with these fields; returns its data. */
void *__vcpu_assert_io(struct vcpu *vcpu, uint8_t dir, uint16_t port,
		       uint8_t size, uint32_t count,
		       const char *file, int line);
#define vcpu_assert_io(vcpu, dir, port, size, count) \
	__vcpu_assert_io(vcpu, dir, port, size, count, __FILE__, __LINE__)

/* The last exit was MMIO at @gpa of @len bytes; returns run->mmio.data. */
uint8_t *__vcpu_assert_mmio(struct vcpu *vcpu, uint64_t gpa, uint32_t len,
			    bool is_write, const char *file, int line);
#define vcpu_assert_mmio(vcpu, gpa, len, is_write) \
	__vcpu_assert_mmio(vcpu, gpa, len, is_write, __FILE__, __LINE__)

/* Store a little-endian value of @len bytes / load one. */
void put_le(uint8_t *p, uint64_t val, unsigned int len);
uint64_t get_le(const uint8_t *p, unsigned int len);

#endif /* MKVM_LIB_VM_H */
