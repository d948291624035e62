// SPDX-License-Identifier: GPL-2.0
/*
 * minikvm and KVM cannot own VMX/SVM at the same time (see
 * Documentation/design.rst): creating a VM fails with EBUSY while kvm.ko
 * is loaded, and loading kvm.ko fails with EBUSY while minikvm VMs exist.
 *
 * Needs $MKVM_KVM_KO, the path of kvm.ko, with its dependencies already
 * loaded.  minikvm only: skipped when $MKVM_DEV is /dev/kvm.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "mkvm_util.h"

FIXTURE(conflict) {
	int fd;
};

FIXTURE_SETUP(conflict)
{
	const char *ko = getenv("MKVM_KVM_KO");

	self->fd = -1;
	if (mkvm_is_kvm())
		SKIP(return, "about minikvm only");
	if (!ko || access(ko, R_OK))
		SKIP(return, "MKVM_KVM_KO does not name a readable kvm.ko");
	self->fd = open(mkvm_dev(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(conflict)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The 6.1 harness runs the test even when the setup skipped. */
#define SKIP_IF_NO_SETUP() do { if (self->fd < 0) SKIP(return, "see setup"); } while (0)

TEST_F(conflict, kvm_load_refused_while_vm_exists)
{
	int vm, r;

	SKIP_IF_NO_SETUP();
	vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	ASSERT_GE(vm, 0);
	r = mkvm_load_kvm_ko();
	if (r == 0)
		mkvm_unload_kvm_ko();
	EXPECT_EQ(-EBUSY, r);
	close(vm);
	/* Once the last VM is gone, KVM may load again. */
	ASSERT_EQ(0, mkvm_load_kvm_ko());
	EXPECT_EQ(0, mkvm_unload_kvm_ko());
}

TEST_F(conflict, create_vm_busy_while_kvm_loaded)
{
	int vm;

	SKIP_IF_NO_SETUP();
	ASSERT_EQ(0, mkvm_load_kvm_ko());
	vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	if (vm >= 0)
		close(vm);
	EXPECT_EQ(-EBUSY, vm);
	ASSERT_EQ(0, mkvm_unload_kvm_ko());
	/* And minikvm works again once KVM is gone. */
	vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	ASSERT_GE(vm, 0);
	close(vm);
}

TEST_HARNESS_MAIN
