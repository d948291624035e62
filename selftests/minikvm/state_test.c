// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU state a VMM saves and restores beside the registers:
 * KVM_GET/SET_XSAVE and KVM_GET_XSAVE2 (what the guest leaves in its
 * XMM/YMM registers is in the XSAVE image, what the host writes there
 * is what the guest reads), KVM_GET/SET_XCRS (XCR0 as the guest sees it,
 * refused as XSETBV would refuse it) and KVM_GET/SET_VCPU_EVENTS (an
 * injected exception or interrupt and the interrupt shadow, read back
 * and delivered; bad flags and vectors refused).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/ucall.h"
#include "lib/x86.h"

#define XCR0_FP		(1ULL << 0)
#define XCR0_SSE	(1ULL << 1)
#define XCR0_YMM	(1ULL << 2)
#define CR4_OSXSAVE	(1UL << 18)

/* Offsets in the (standard format) XSAVE image. */
#define XSAVE_MXCSR	24
#define XSAVE_XMM(n)	(160 + 16 * (n))
#define XSAVE_XSTATE_BV	512

FIXTURE(state) {
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t xcr0_ok;	/* the XCR0 bits the guest may set */
	uint32_t ymm_offset;	/* of the upper YMM halves, 0 without AVX */
};

FIXTURE_SETUP(state)
{
	const struct kvm_cpuid2 *c = kvm_supported_cpuid();
	struct kvm_cpuid2 *cpuid = cpuid_dup(c);
	struct kvm_cpuid_entry2 *e1 = cpuid_find(cpuid, 1, 0);
	struct kvm_cpuid_entry2 *d0 = cpuid_find(cpuid, 0xd, 0);
	struct kvm_cpuid_entry2 *d2 = cpuid_find(cpuid, 0xd, 2);

	self->vm = vm_create();
	self->vcpu = vm_vcpu_add(self->vm, 0);
	self->xcr0_ok = 0;
	self->ymm_offset = 0;
	/* XSAVE (1:ECX[26]) and the XCR0 bits of leaf 0xd. */
	if (e1 && (e1->ecx & (1U << 26)) && d0)
		self->xcr0_ok = d0->eax & (XCR0_FP | XCR0_SSE | XCR0_YMM);
	if ((self->xcr0_ok & XCR0_YMM) && (e1->ecx & (1U << 28)) && d2)
		self->ymm_offset = d2->ebx;
	free(cpuid);
}

FIXTURE_TEARDOWN(state)
{
	vm_free(self->vm);
}

/* ---- XSAVE ---------------------------------------------------------- */

static uint8_t xmm_in[2][16] __attribute__((aligned(16)));
static uint8_t ymm_in[32] __attribute__((aligned(32)));

/*
 * CR4.OSXSAVE on.  XCR0 itself is set by the host (KVM_SET_XCRS): the
 * rig's QEMU runs a nested guest's XSETBV without the SVM intercept, so
 * that the hypervisor never sees it.
 */
static void guest_enable_xsave(void)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSXSAVE));
}

static uint64_t guest_xgetbv(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | ((uint64_t)hi << 32);
}

static void set_xcr0_ok(struct __test_metadata *_metadata, struct vcpu *vcpu,
			uint64_t xcr0)
{
	struct kvm_xcrs xcrs = {
		.nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = xcr0 },
	};

	if (!xcr0)
		return;
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_XCRS, (unsigned long)&xcrs));
}

/*
 * Load XMM0, XMM7 (and YMM1 with AVX), stop for the host, then report
 * what the registers hold after it: the host's values.
 */
static void guest_xsave(uint64_t xcr0, uint64_t avx)
{
	uint8_t out[2][16] __attribute__((aligned(16)));
	uint8_t yout[32] __attribute__((aligned(32)));

	if (xcr0) {
		guest_enable_xsave();
		GUEST_ASSERT_EQ(xcr0, guest_xgetbv());
	}
	if (avx) {
		asm volatile("vmovdqu %[y], %%ymm1\n\t"
			     "mov $" STR(UCALL_SYNC) ", %%al\n\t"
			     "xor %%edi, %%edi\n\t"
			     "out %%al, $" UCALL_PORT_S "\n\t"
			     "vmovdqu %%ymm1, %[yo]\n\t"
			     : [yo] "=m"(yout)
			     : [y] "m"(ymm_in)
			     : "rax", "rdi", "xmm1", "memory");
		GUEST_SYNC4(((uint64_t *)yout)[0], ((uint64_t *)yout)[1],
			    ((uint64_t *)yout)[2], ((uint64_t *)yout)[3]);
	}
	asm volatile("movdqa %[x0], %%xmm0\n\t"
		     "movdqa %[x7], %%xmm7\n\t"
		     "mov $" STR(UCALL_SYNC) ", %%al\n\t"
		     "mov $1, %%edi\n\t"
		     "out %%al, $" UCALL_PORT_S "\n\t"
		     "movdqa %%xmm0, %[o0]\n\t"
		     "movdqa %%xmm7, %[o7]\n\t"
		     : [o0] "=m"(out[0]), [o7] "=m"(out[1])
		     : [x0] "m"(xmm_in[0]), [x7] "m"(xmm_in[1])
		     : "rax", "rdi", "xmm0", "xmm7", "memory");
	GUEST_SYNC4(((uint64_t *)out[0])[0], ((uint64_t *)out[0])[1],
		    ((uint64_t *)out[1])[0], ((uint64_t *)out[1])[1]);
}

static void get_xsave(struct __test_metadata *_metadata, struct vcpu *vcpu,
		      struct kvm_xsave *x)
{
	memset(x, 0xcc, sizeof(*x));
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_XSAVE, (unsigned long)x));
}

TEST_F(state, xsave_roundtrip)
{
	struct vcpu *vcpu = self->vcpu;
	bool avx = self->ymm_offset;
	struct kvm_xsave *x, *y;
	uint8_t *r;
	struct ucall uc;
	int i;

	if (!kvm_check_cap(KVM_CAP_XSAVE))
		SKIP(return, "no KVM_CAP_XSAVE");
	x = calloc(1, sizeof(*x));
	y = calloc(1, sizeof(*y));
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, y);
	r = (uint8_t *)x->region;
	for (i = 0; i < 16; i++) {
		xmm_in[0][i] = 0x10 + i;
		xmm_in[1][i] = 0xf0 - i;
	}
	for (i = 0; i < 32; i++)
		ymm_in[i] = 0x60 + 2 * i;
	sync_global_to_guest(self->vm, xmm_in);
	sync_global_to_guest(self->vm, ymm_in);
	set_xcr0_ok(_metadata, vcpu, self->xcr0_ok);
	vcpu_start_guest(vcpu, guest_xsave, 2, self->xcr0_ok, (uint64_t)avx);

	if (avx) {
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		ASSERT_EQ(0, uc.args[0]);
		get_xsave(_metadata, vcpu, x);
		EXPECT_EQ(0, memcmp(r + XSAVE_XMM(1), ymm_in, 16));
		EXPECT_EQ(0, memcmp(r + self->ymm_offset + 16, ymm_in + 16, 16));
		EXPECT_EQ(XCR0_YMM, get_le(r + XSAVE_XSTATE_BV, 8) & XCR0_YMM);
		for (i = 0; i < 32; i++)
			ymm_in[i] ^= 0xff;
		memcpy(r + XSAVE_XMM(1), ymm_in, 16);
		memcpy(r + self->ymm_offset + 16, ymm_in + 16, 16);
		ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
					  (unsigned long)x));
		vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
		for (i = 0; i < 4; i++)
			EXPECT_EQ(get_le(ymm_in + 8 * i, 8), uc.args[i])
				TH_LOG("YMM1 quadword %d", i);
	} else {
		TH_LOG("no AVX: XMM registers only");
	}

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);
	get_xsave(_metadata, vcpu, x);
	EXPECT_EQ(0, memcmp(r + XSAVE_XMM(0), xmm_in[0], 16));
	EXPECT_EQ(0, memcmp(r + XSAVE_XMM(7), xmm_in[1], 16));
	EXPECT_EQ(XCR0_FP | XCR0_SSE,
		  get_le(r + XSAVE_XSTATE_BV, 8) & (XCR0_FP | XCR0_SSE));
	for (i = 0; i < 16; i++) {
		r[XSAVE_XMM(0) + i] = 0xa0 + i;
		r[XSAVE_XMM(7) + i] = 0x05 * i;
	}
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_XSAVE, (unsigned long)x));
	/* Read back before the guest runs. */
	get_xsave(_metadata, vcpu, y);
	EXPECT_EQ(0, memcmp(r + XSAVE_XMM(0), (uint8_t *)y->region +
			    XSAVE_XMM(0), 8 * 16));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(get_le(r + XSAVE_XMM(0), 8), uc.args[0]);
	EXPECT_EQ(get_le(r + XSAVE_XMM(0) + 8, 8), uc.args[1]);
	EXPECT_EQ(get_le(r + XSAVE_XMM(7), 8), uc.args[2]);
	EXPECT_EQ(get_le(r + XSAVE_XMM(7) + 8, 8), uc.args[3]);
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);

	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_GET_XSAVE, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_SET_XSAVE, 0));
	free(y);
	free(x);
}

/* KVM_GET_XSAVE2 gives KVM_CAP_XSAVE2 bytes, the first 4 KiB XSAVE's. */
TEST_F(state, xsave2)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_xsave *x;
	long size = kvm_check_cap(KVM_CAP_XSAVE2);
	uint8_t *buf;
	struct ucall uc;

	if (!size)
		SKIP(return, "no KVM_CAP_XSAVE2");
	ASSERT_LE(sizeof(*x), size);
	ASSERT_EQ(0, size % 4);
	x = calloc(1, sizeof(*x));
	buf = malloc(size);
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, buf);

	memset(xmm_in, 0x5a, sizeof(xmm_in));
	sync_global_to_guest(self->vm, xmm_in);
	set_xcr0_ok(_metadata, vcpu, self->xcr0_ok);
	vcpu_start_guest(vcpu, guest_xsave, 2, self->xcr0_ok, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);

	get_xsave(_metadata, vcpu, x);
	memset(buf, 0xcc, size);
	ASSERT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_GET_XSAVE2, (unsigned long)buf));
	EXPECT_EQ(0, memcmp(buf, x->region, sizeof(*x)));
	EXPECT_EQ(0, memcmp(buf + XSAVE_XMM(0), xmm_in[0], 16));
	EXPECT_EQ(0, memcmp(buf + XSAVE_XMM(7), xmm_in[1], 16));
	free(buf);
	free(x);
}

/*
 * KVM_SET_XSAVE refuses (EINVAL) an XSTATE_BV bit no XCR0 can have (bit
 * 63) and reserved MXCSR bits, and the state stays as it was.
 */
TEST_F(state, bad_xsave)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_xsave *x, *got;
	uint8_t *r;
	uint64_t bv, mxcsr;

	if (!kvm_check_cap(KVM_CAP_XSAVE))
		SKIP(return, "no KVM_CAP_XSAVE");
	x = calloc(1, sizeof(*x));
	got = calloc(1, sizeof(*got));
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, got);
	r = (uint8_t *)x->region;
	get_xsave(_metadata, vcpu, x);
	bv = get_le(r + XSAVE_XSTATE_BV, 8);
	mxcsr = get_le(r + XSAVE_MXCSR, 4);

	r[XSAVE_XMM(3)] ^= 0xff;
	put_le(r + XSAVE_XSTATE_BV, bv | XCR0_SSE | (1ULL << 63), 8);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
					(unsigned long)x));
	put_le(r + XSAVE_XSTATE_BV, bv | XCR0_SSE, 8);
	put_le(r + XSAVE_MXCSR, mxcsr | (1U << 31), 4);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_XSAVE,
					(unsigned long)x));
	get_xsave(_metadata, vcpu, got);
	EXPECT_NE(r[XSAVE_XMM(3)], ((uint8_t *)got->region)[XSAVE_XMM(3)]);
	EXPECT_EQ(mxcsr, get_le((uint8_t *)got->region + XSAVE_MXCSR, 4));

	/* The same image without the bad bits is taken. */
	put_le(r + XSAVE_MXCSR, mxcsr, 4);
	EXPECT_EQ(0, __mkvm_ioctl(vcpu->fd, KVM_SET_XSAVE, (unsigned long)x));
	get_xsave(_metadata, vcpu, got);
	EXPECT_EQ(r[XSAVE_XMM(3)], ((uint8_t *)got->region)[XSAVE_XMM(3)]);
	free(got);
	free(x);
}

/* ---- XCRS ------------------------------------------------------------ */

/* The host sets XCR0 (twice); the guest reads it. */
static void guest_xcr0(void)
{
	guest_enable_xsave();
	GUEST_SYNC(0, 0);
	GUEST_SYNC(1, guest_xgetbv());
	GUEST_SYNC(2, guest_xgetbv());
}

static uint64_t get_xcr0(struct __test_metadata *_metadata,
			 struct vcpu *vcpu)
{
	struct kvm_xcrs xcrs;

	memset(&xcrs, 0xcc, sizeof(xcrs));
	kvm_ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs);
	EXPECT_EQ(1, xcrs.nr_xcrs);
	EXPECT_EQ(0, xcrs.flags);
	EXPECT_EQ(0, xcrs.xcrs[0].xcr);
	return xcrs.xcrs[0].value;
}

static int set_xcr0(struct vcpu *vcpu, uint64_t xcr0, uint32_t nr,
		    uint32_t flags)
{
	struct kvm_xcrs xcrs = {
		.nr_xcrs = nr, .flags = flags,
		.xcrs[0] = { .xcr = 0, .value = xcr0 },
	};

	return __mkvm_ioctl(vcpu->fd, KVM_SET_XCRS, (unsigned long)&xcrs);
}

TEST_F(state, xcrs)
{
	struct vcpu *vcpu = self->vcpu;
	uint64_t full = self->xcr0_ok;
	struct ucall uc;

	if (!kvm_check_cap(KVM_CAP_XCRS) || !(full & XCR0_SSE))
		SKIP(return, "no XSAVE with SSE here");

	EXPECT_EQ(XCR0_FP, get_xcr0(_metadata, vcpu));	/* RESET */
	vcpu_start_guest(vcpu, guest_xcr0, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(0, uc.args[0]);

	/* Host to guest. */
	EXPECT_EQ(0, set_xcr0(vcpu, XCR0_FP | XCR0_SSE, 1, 0));
	EXPECT_EQ(XCR0_FP | XCR0_SSE, get_xcr0(_metadata, vcpu));

	/* Refused as XSETBV would be, and nothing changes. */
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, 0, 1, 0));
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XCR0_SSE, 1, 0));	/* x87 off */
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XCR0_FP | XCR0_YMM, 1, 0));
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XCR0_FP | (1ULL << 62), 1, 0));
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XCR0_FP, 1, 1));	/* flags */
	EXPECT_EQ(-EINVAL, set_xcr0(vcpu, XCR0_FP, KVM_MAX_XCRS + 1, 0));
	EXPECT_EQ(XCR0_FP | XCR0_SSE, get_xcr0(_metadata, vcpu));
	/* No entries: nothing to do. */
	EXPECT_EQ(0, set_xcr0(vcpu, 0, 0, 0));

	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);
	EXPECT_EQ(XCR0_FP | XCR0_SSE, uc.args[1]);

	/* Everything the guest may have. */
	EXPECT_EQ(0, set_xcr0(vcpu, full, 1, 0));
	EXPECT_EQ(full, get_xcr0(_metadata, vcpu));
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(full, uc.args[1]);

	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_GET_XCRS, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_SET_XCRS, 0));
}

/* ---- VCPU_EVENTS ----------------------------------------------------- */

static volatile uint64_t exc_vector, exc_error, exc_count;

static void record_handler(struct ex_regs *regs)
{
	exc_vector = regs->vector;
	exc_error = regs->error_code;
	exc_count++;
}

#define EVT_IRQ_VECTOR	0x41

static void guest_events(void)
{
	guest_set_handler(GP_VECTOR, record_handler);
	guest_set_handler(EVT_IRQ_VECTOR, record_handler);
	asm volatile("cli");
	GUEST_SYNC(0, 0);
	/* The host injected #GP(0x18) here. */
	GUEST_SYNC4(1, exc_count, exc_vector, exc_error);
	/* ... and now an interrupt, taken even with IF = 0: it is injected. */
	GUEST_SYNC4(2, exc_count, exc_vector, 0);
}

static void get_events(struct __test_metadata *_metadata, struct vcpu *vcpu,
		       struct kvm_vcpu_events *e)
{
	memset(e, 0xcc, sizeof(*e));
	kvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, e);
}

TEST_F(state, events_roundtrip)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_vcpu_events e;
	struct ucall uc;

	if (!kvm_check_cap(KVM_CAP_VCPU_EVENTS))
		SKIP(return, "no KVM_CAP_VCPU_EVENTS");
	/*
	 * Bochs fails the VM entry that injects the #GP below (exit reason
	 * 0x80000021, invalid guest state) on kvm_intel exactly as on
	 * minikvm: its check, not the hypervisors'.
	 */
	if (mkvm_on_bochs())
		SKIP(return, "Bochs refuses the entry injecting the #GP (kvm_intel too)");
	/* KVM has the shadow flag but never reports the capability. */
	if (!mkvm_is_kvm())
		EXPECT_EQ(1, kvm_check_cap(KVM_CAP_INTR_SHADOW));
	vcpu_start_guest(vcpu, guest_events, 0);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(0, uc.args[0]);

	/* Nothing queued. */
	get_events(_metadata, vcpu, &e);
	EXPECT_EQ(0, e.exception.injected);
	EXPECT_EQ(0, e.exception.pending);
	EXPECT_EQ(0, e.interrupt.injected);
	EXPECT_EQ(0, e.interrupt.shadow);
	EXPECT_EQ(0, e.nmi.injected);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW,
		  e.flags & (KVM_VCPUEVENT_VALID_NMI_PENDING |
			     KVM_VCPUEVENT_VALID_SHADOW |
			     KVM_VCPUEVENT_VALID_PAYLOAD |
			     KVM_VCPUEVENT_VALID_TRIPLE_FAULT));

	/* A #GP with its error code: read back, then delivered. */
	e.exception.injected = 1;
	e.exception.nr = GP_VECTOR;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x18;
	e.flags = 0;
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &e);
	get_events(_metadata, vcpu, &e);
	EXPECT_EQ(1, e.exception.injected);
	EXPECT_EQ(0, e.exception.pending);
	EXPECT_EQ(GP_VECTOR, e.exception.nr);
	EXPECT_EQ(1, e.exception.has_error_code);
	EXPECT_EQ(0x18, e.exception.error_code);
	EXPECT_EQ(0, e.interrupt.injected);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(1, uc.args[0]);
	EXPECT_EQ(1, uc.args[1]);
	EXPECT_EQ(GP_VECTOR, uc.args[2]);
	EXPECT_EQ(0x18, uc.args[3]);
	get_events(_metadata, vcpu, &e);
	EXPECT_EQ(0, e.exception.injected);

	/* An injected external interrupt. */
	memset(&e, 0, sizeof(e));
	e.interrupt.injected = 1;
	e.interrupt.nr = EVT_IRQ_VECTOR;
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &e);
	get_events(_metadata, vcpu, &e);
	EXPECT_EQ(1, e.interrupt.injected);
	EXPECT_EQ(EVT_IRQ_VECTOR, e.interrupt.nr);
	EXPECT_EQ(0, e.interrupt.soft);
	EXPECT_EQ(0, e.exception.injected);
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(2, uc.args[1]);
	EXPECT_EQ(EVT_IRQ_VECTOR, uc.args[2]);
	vcpu_run_expect(vcpu, UCALL_DONE, &uc);

	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, 0));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, 0));
}

GUEST_ASM(shadow_guest,
	".code64\n"
	"nop\n"
	"hlt\n");

/* The interrupt shadow, set and cleared with KVM_VCPUEVENT_VALID_SHADOW. */
TEST_F(state, events_shadow)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_vcpu_events e;

	if (!kvm_check_cap(KVM_CAP_VCPU_EVENTS))
		SKIP(return, "no KVM_CAP_VCPU_EVENTS");
	vcpu_load_snippet(vcpu, MODE_LONG, shadow_guest);
	get_events(_metadata, vcpu, &e);
	EXPECT_EQ(0, e.interrupt.shadow);

	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_SHADOW;
	e.interrupt.shadow = 1;			/* KVM's MOV SS bit */
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &e);
	get_events(_metadata, vcpu, &e);
	EXPECT_NE(0, e.interrupt.shadow);

	/* Without the flag the shadow is left alone. */
	e.flags = 0;
	e.interrupt.shadow = 0;
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &e);
	get_events(_metadata, vcpu, &e);
	EXPECT_NE(0, e.interrupt.shadow);

	e.flags = KVM_VCPUEVENT_VALID_SHADOW;
	e.interrupt.shadow = 0;
	kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &e);
	get_events(_metadata, vcpu, &e);
	EXPECT_EQ(0, e.interrupt.shadow);

	/* The guest still runs. */
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_HLT);
}

/* Flags and vectors KVM refuses, with EINVAL. */
TEST_F(state, events_invalid)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_vcpu_events e, got;

	if (!kvm_check_cap(KVM_CAP_VCPU_EVENTS))
		SKIP(return, "no KVM_CAP_VCPU_EVENTS");

	memset(&e, 0, sizeof(e));
	e.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS,
					(unsigned long)&e));
	/* Without KVM_CAP_EXCEPTION_PAYLOAD / KVM_CAP_X86_TRIPLE_FAULT_EVENT. */
	e.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS,
					(unsigned long)&e));
	e.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS,
					(unsigned long)&e));
	/* Entering SMM, where there is none. */
	if (!kvm_check_cap(KVM_CAP_X86_SMM)) {
		e.flags = KVM_VCPUEVENT_VALID_SMM;
		e.smi.smm = 1;
		EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS,
						(unsigned long)&e));
		e.smi.smm = 0;
	}
	/* NMI (vector 2) and vectors above 31 are not exceptions. */
	e.flags = 0;
	e.exception.injected = 1;
	e.exception.nr = 2;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS,
					(unsigned long)&e));
	e.exception.nr = 32;
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS,
					(unsigned long)&e));

	/* Nothing was queued by the refused calls. */
	get_events(_metadata, vcpu, &got);
	EXPECT_EQ(0, got.exception.injected);
	EXPECT_EQ(0, got.interrupt.injected);
	EXPECT_EQ(0, got.nmi.injected);
}

/* ---- KVM_CAP_SYNC_REGS ------------------------------------------------ */

static void guest_sync_regs_a(void)
{
	GUEST_SYNC(1, 0);
	GUEST_SYNC(9, 0);	/* not reached: the host moves RIP */
}

static void guest_sync_regs_b(void)
{
	GUEST_SYNC(2, 0);
	for (;;)
		GUEST_DONE();
}

/*
 * kvm_valid_regs: KVM_RUN leaves the registers, special registers and
 * events in kvm_run; kvm_dirty_regs: it takes them from there (and
 * clears the bits); unknown bits are EINVAL, and so are special
 * registers KVM_SET_SREGS would refuse.
 */
TEST_F(state, sync_regs)
{
	struct vcpu *vcpu = self->vcpu;
	struct kvm_run *run = vcpu->run;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct ucall uc;
	long caps = kvm_check_cap(KVM_CAP_SYNC_REGS);

	if ((caps & 7) != 7)
		SKIP(return, "no KVM_CAP_SYNC_REGS for REGS, SREGS and EVENTS");
	vcpu_start_guest(vcpu, guest_sync_regs_a, 0);
	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
			      KVM_SYNC_X86_EVENTS;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(1, uc.args[0]);
	vcpu_get_regs(vcpu, &regs);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(regs.rip, run->s.regs.regs.rip);
	EXPECT_EQ(regs.rsp, run->s.regs.regs.rsp);
	EXPECT_EQ(regs.rflags, run->s.regs.regs.rflags);
	EXPECT_EQ(sregs.cr0, run->s.regs.sregs.cr0);
	EXPECT_EQ(sregs.cr3, run->s.regs.sregs.cr3);
	EXPECT_EQ(sregs.efer, run->s.regs.sregs.efer);
	EXPECT_EQ(sregs.cs.selector, run->s.regs.sregs.cs.selector);

	/* Unknown bits: EINVAL, in either word. */
	run->kvm_valid_regs = 1 << 3;
	EXPECT_EQ(-EINVAL, __vcpu_run(vcpu));
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = 1 << 3;
	EXPECT_EQ(-EINVAL, __vcpu_run(vcpu));

	/* Special registers KVM_SET_SREGS refuses (PG without PE). */
	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	run->s.regs.sregs = sregs;
	run->s.regs.sregs.cr0 = (sregs.cr0 | (1UL << 31)) & ~1UL;
	run->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	EXPECT_EQ(-EINVAL, __vcpu_run(vcpu));

	/* Dirty registers go in: the guest goes on where RIP now says. */
	run->s.regs.sregs = sregs;
	run->s.regs.regs = regs;
	run->s.regs.regs.rip = (uint64_t)guest_sync_regs_b;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	vcpu_run_expect(vcpu, UCALL_SYNC, &uc);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(0, run->kvm_dirty_regs);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(regs.rip, run->s.regs.regs.rip);
	run->kvm_valid_regs = 0;
	vcpu_run_expect(vcpu, UCALL_DONE, NULL);
}

TEST_HARNESS_MAIN
