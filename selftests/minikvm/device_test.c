// SPDX-License-Identifier: GPL-2.0
/*
 * The device and its system ioctls, VM creation and VM fd ownership.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"

#define NR_VMS 100

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(mkvm_dev(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", mkvm_dev(), strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, is_char_device)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	/* KVM and minikvm are misc devices (major 10), mode 0660 or wider for root. */
	EXPECT_EQ(10U, major(st.st_rdev));
}

TEST_F(dev, api_version)
{
	EXPECT_EQ(KVM_API_VERSION, __mkvm_ioctl(self->fd, KVM_GET_API_VERSION, 0));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->fd, KVM_GET_API_VERSION, 1));
}

TEST_F(dev, vcpu_mmap_size)
{
	long sz = __mkvm_ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	long page = sysconf(_SC_PAGESIZE);

	/* struct kvm_run plus at least the port-IO data page. */
	EXPECT_GE(sz, 2 * page);
	EXPECT_EQ(0, sz % page);
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->fd, KVM_GET_VCPU_MMAP_SIZE, 1));
}

TEST_F(dev, check_extension_unknown)
{
	int vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_GE(vm, 0);
	/* Unknown capabilities answer 0, never an error. */
	EXPECT_EQ(0, __mkvm_ioctl(self->fd, KVM_CHECK_EXTENSION, 100000));
	EXPECT_EQ(0, __mkvm_ioctl(self->fd, KVM_CHECK_EXTENSION, -1L));
	EXPECT_EQ(0, __mkvm_ioctl(vm, KVM_CHECK_EXTENSION, 100000));
	EXPECT_EQ(1, __mkvm_ioctl(self->fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_CHECK_EXTENSION_VM));
	close(vm);
}

/*
 * KVM_CHECK_EXTENSION must be truthful: a capability reported present has
 * its ioctl implemented, and (on minikvm, which reports everything it
 * implements) an absent capability's ioctl answers ENOTTY.  Each probe
 * passes a NULL argument, so an implemented ioctl fails with EFAULT (or
 * succeeds harmlessly) in a throw-away VM.
 */
enum probe_fd { ON_SYS, ON_VM };

static const struct cap_probe {
	const char *name;
	long cap;
	enum probe_fd on;
	unsigned long ioctl;
} cap_probes[] = {
	{ "USER_MEMORY", KVM_CAP_USER_MEMORY, ON_VM, KVM_SET_USER_MEMORY_REGION },
	{ "EXT_CPUID", KVM_CAP_EXT_CPUID, ON_SYS, KVM_GET_SUPPORTED_CPUID },
	{ "GET_MSR_FEATURES", KVM_CAP_GET_MSR_FEATURES, ON_SYS, KVM_GET_MSR_FEATURE_INDEX_LIST },
	{ "SET_IDENTITY_MAP_ADDR", KVM_CAP_SET_IDENTITY_MAP_ADDR, ON_VM, KVM_SET_IDENTITY_MAP_ADDR },
	{ "PIT2", KVM_CAP_PIT2, ON_VM, KVM_CREATE_PIT2 },
	{ "IOEVENTFD", KVM_CAP_IOEVENTFD, ON_VM, KVM_IOEVENTFD },
	{ "IRQFD", KVM_CAP_IRQFD, ON_VM, KVM_IRQFD },
	{ "ADJUST_CLOCK", KVM_CAP_ADJUST_CLOCK, ON_VM, KVM_GET_CLOCK },
	{ "COALESCED_MMIO", KVM_CAP_COALESCED_MMIO, ON_VM, KVM_REGISTER_COALESCED_MMIO },
	{ "ENABLE_CAP_VM", KVM_CAP_ENABLE_CAP_VM, ON_VM, KVM_ENABLE_CAP },
	{ "IRQ_ROUTING", KVM_CAP_IRQ_ROUTING, ON_VM, KVM_SET_GSI_ROUTING },
	{ "VM_ATTRIBUTES", KVM_CAP_VM_ATTRIBUTES, ON_VM, KVM_HAS_DEVICE_ATTR },
};

TEST_F(dev, check_extension_truthful)
{
	int vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	unsigned int i;

	ASSERT_GE(vm, 0);
	for (i = 0; i < sizeof(cap_probes) / sizeof(cap_probes[0]); i++) {
		const struct cap_probe *p = &cap_probes[i];
		long has = __mkvm_ioctl(self->fd, KVM_CHECK_EXTENSION, p->cap);
		long r = __mkvm_ioctl(p->on == ON_SYS ? self->fd : vm, p->ioctl, 0);

		ASSERT_GE(has, 0);
		if (has) {
			EXPECT_NE(-ENOTTY, r) {
				TH_LOG("KVM_CAP_%s reported but its ioctl is missing", p->name);
			}
		} else if (!mkvm_is_kvm()) {
			EXPECT_EQ(-ENOTTY, r) {
				TH_LOG("KVM_CAP_%s not reported but its ioctl answers %ld", p->name, r);
			}
		}
		/* The VM fd answers like the system fd. */
		EXPECT_EQ(has, __mkvm_ioctl(vm, KVM_CHECK_EXTENSION, p->cap));
	}
	close(vm);
}

TEST_F(dev, create_vm_many_alive)
{
	int vms[NR_VMS];
	int i, j;

	for (i = 0; i < NR_VMS; i++) {
		vms[i] = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
		ASSERT_GE(vms[i], 0) TH_LOG("VM %d: %s", i, strerror(-vms[i]));
		EXPECT_NE(self->fd, vms[i]);
		for (j = 0; j < i; j++)
			ASSERT_NE(vms[j], vms[i]);
		/* VM fds are close-on-exec, like KVM's. */
		EXPECT_EQ(FD_CLOEXEC, fcntl(vms[i], F_GETFD) & FD_CLOEXEC);
	}
	for (i = 0; i < NR_VMS; i++)
		EXPECT_EQ(0, close(vms[i]));
}

TEST_F(dev, create_vm_many_sequential)
{
	int i, vm;

	for (i = 0; i < NR_VMS; i++) {
		vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
		ASSERT_GE(vm, 0) TH_LOG("VM %d: %s", i, strerror(-vm));
		EXPECT_EQ(0, close(vm));
	}
}

TEST_F(dev, create_vm_bad_type)
{
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0xdead));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(self->fd, KVM_CREATE_VM, ~0UL));
	/* A refused VM leaves nothing behind: the next one works. */
	int vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_GE(vm, 0);
	close(vm);
}

/*
 * Unknown ioctls.  minikvm answers ENOTTY on every fd; KVM answers EINVAL
 * on the system fd (Documentation/api.rst, "Differences from KVM").
 */
TEST_F(dev, bad_ioctl_system)
{
	long want = mkvm_is_kvm() ? -EINVAL : -ENOTTY;
	struct termios tio;

	EXPECT_EQ(want, __mkvm_ioctl(self->fd, _IO(KVMIO, 0xff), 0));
	EXPECT_EQ(want, __mkvm_ioctl(self->fd, _IOW(KVMIO, 0x01, __u64), 0));
	EXPECT_EQ(want, __mkvm_ioctl(self->fd, TCGETS, (unsigned long)&tio));
}

TEST_F(dev, bad_ioctl_vm)
{
	int vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_GE(vm, 0);
	EXPECT_EQ(-ENOTTY, __mkvm_ioctl(vm, _IO(KVMIO, 0xff), 0));
	EXPECT_EQ(-ENOTTY, __mkvm_ioctl(vm, _IO('T', 0x01), 0));
	/* A system ioctl is not a VM ioctl. */
	EXPECT_EQ(-ENOTTY, __mkvm_ioctl(vm, KVM_GET_API_VERSION, 0));
	close(vm);
}

TEST_F(dev, vm_fd_outlives_dev_fd)
{
	int vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);

	ASSERT_GE(vm, 0);
	ASSERT_EQ(0, close(self->fd));
	self->fd = open("/dev/null", O_RDONLY);	/* for the teardown */
	EXPECT_EQ(1, __mkvm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM));
	EXPECT_EQ(0, close(vm));
}

/* A VM belongs to the address space that created it. */
TEST_F(dev, vm_ioctl_from_other_mm)
{
	int vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	int status;
	pid_t pid;

	ASSERT_GE(vm, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		long r = __mkvm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM);

		_exit(r == -EIO ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child's VM ioctl did not fail with EIO");
	/* The parent still owns it. */
	EXPECT_EQ(1, __mkvm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM));
	close(vm);
}

/* The module cannot be removed while a device or VM fd is open. */
TEST_F(dev, rmmod_refused_while_open)
{
	const char *mod = getenv("MKVM_MODULE");
	int vm;

	if (!mod || !*mod)
		SKIP(return, "MKVM_MODULE not set");
	EXPECT_EQ(-1, syscall(SYS_delete_module, mod, O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);

	vm = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	ASSERT_GE(vm, 0);
	close(self->fd);
	self->fd = open("/dev/null", O_RDONLY);
	EXPECT_EQ(-1, syscall(SYS_delete_module, mod, O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(vm);
}

static int set_cpu_online(int cpu, int on)
{
	char path[64];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok ? 0 : -errno;
}

/* A CPU going offline and coming back while VMs exist. */
TEST_F(dev, cpu_hotplug_with_vms)
{
	int vm1, vm2, vm3;

	if (access("/sys/devices/system/cpu/cpu1/online", W_OK))
		SKIP(return, "no hot-pluggable CPU 1");
	vm1 = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	ASSERT_GE(vm1, 0);
	ASSERT_EQ(0, set_cpu_online(1, 0));
	vm2 = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	EXPECT_GE(vm2, 0);
	ASSERT_EQ(0, set_cpu_online(1, 1));
	vm3 = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	EXPECT_GE(vm3, 0);
	close(vm1);
	close(vm2);
	close(vm3);
	/* And with no VM at all. */
	ASSERT_EQ(0, set_cpu_online(1, 0));
	ASSERT_EQ(0, set_cpu_online(1, 1));
	vm1 = __mkvm_ioctl(self->fd, KVM_CREATE_VM, 0);
	EXPECT_GE(vm1, 0);
	close(vm1);
}

TEST_HARNESS_MAIN
