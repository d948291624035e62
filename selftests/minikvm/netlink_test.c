// SPDX-License-Identifier: GPL-2.0
/*
 * The "minikvm" generic netlink family and MINIKVM_SET_VM_NAME: counters
 * that match what a guest provably did, events, visibility between
 * users, strict attribute checking, and a dump racing VM churn.
 *
 * minikvm only (KVM has no such family): skipped on /dev/kvm.  Speaks
 * raw netlink, so that malformed requests can be sent too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/minikvm.h>

#include "kselftest_harness.h"
#include "mkvm_util.h"

/* ---- a little raw generic netlink ------------------------------------- */

struct nl {
	int fd;
	uint16_t family;
	uint32_t mcgrp;
	uint32_t seq;
};

#define NL_BUF 65536

struct attrs {
	const struct nlattr *a[MINIKVM_A_MAX + 1];
	uint64_t exits[__MINIKVM_STAT_MAX];
};

static void put_attr(struct nlmsghdr *h, uint16_t type, const void *data,
		     uint16_t len)
{
	struct nlattr *a = (void *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int nl_send(struct nl *nl, uint16_t type, uint8_t cmd, uint16_t flags,
		   struct nlmsghdr *h)
{
	struct genlmsghdr *g = NLMSG_DATA(h);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++nl->seq;
	g->cmd = cmd;
	g->version = 1;
	return send(nl->fd, h, h->nlmsg_len, 0) == h->nlmsg_len ? 0 : -errno;
}

static struct nlmsghdr *nl_new(char *buf)
{
	struct nlmsghdr *h = (void *)buf;

	memset(buf, 0, 4096);
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	return h;
}

static void parse(const struct nlmsghdr *h, struct attrs *out)
{
	const struct nlattr *a = (void *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	int len = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	memset(out, 0, sizeof(*out));
	for (; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len), a = (void *)((char *)a + NLA_ALIGN(a->nla_len))) {
		int t = a->nla_type & NLA_TYPE_MASK;

		if (t <= MINIKVM_A_MAX)
			out->a[t] = a;
		if (t == MINIKVM_A_EXITS) {
			const struct nlattr *e = (void *)((char *)a + NLA_HDRLEN);
			int el = a->nla_len - NLA_HDRLEN;

			for (; el >= NLA_HDRLEN; el -= NLA_ALIGN(e->nla_len),
			     e = (void *)((char *)e + NLA_ALIGN(e->nla_len)))
				if (e->nla_type >= 1 && e->nla_type <= __MINIKVM_STAT_MAX)
					memcpy(&out->exits[e->nla_type - 1],
					       (char *)e + NLA_HDRLEN, 8);
		}
	}
}

static uint64_t u64a(const struct attrs *at, int t)
{
	uint64_t v = 0;

	if (at->a[t])
		memcpy(&v, (char *)at->a[t] + NLA_HDRLEN, at->a[t]->nla_len - NLA_HDRLEN > 4 ? 8 : 4);
	return v;
}

/*
 * Receive the answer to the last request: calls @cb for each message and
 * returns 0, or the -errno of the error, with its extack text in @msg.
 */
static int nl_recv(struct nl *nl, void (*cb)(const struct nlmsghdr *, void *),
		   void *arg, char *msg, size_t msglen)
{
	static char buf[NL_BUF];

	for (;;) {
		int n = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		for (h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				/* A dump's error comes in its DONE message. */
				int e = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(e)))
					memcpy(&e, NLMSG_DATA(h), sizeof(e));
				return e;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (msg && msglen) {
					msg[0] = 0;
					if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
						const struct nlattr *a = (void *)((char *)e + sizeof(*e) +
							(h->nlmsg_flags & NLM_F_CAPPED ? 0 :
							 e->msg.nlmsg_len - sizeof(e->msg)));
						if (a->nla_type == NLMSGERR_ATTR_MSG)
							snprintf(msg, msglen, "%s", (char *)a + NLA_HDRLEN);
					}
				}
				if (e->error || !(h->nlmsg_flags & NLM_F_MULTI))
					return e->error;
				continue;
			}
			if (cb)
				cb(h, arg);
		}
	}
}

static int nl_open(struct nl *nl)
{
	char buf[4096], *p;
	struct nlmsghdr *h = nl_new(buf);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1, n;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0 || bind(nl->fd, (void *)&sa, sizeof(sa)))
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	put_attr(h, CTRL_ATTR_FAMILY_NAME, MINIKVM_GENL_NAME, sizeof(MINIKVM_GENL_NAME));
	if (nl_send(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, h))
		return -errno;
	n = recv(nl->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	h = (void *)buf;
	if (h->nlmsg_type == NLMSG_ERROR)
		return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	/* Walk the attributes for the family id and the events group. */
	p = (char *)NLMSG_DATA(h) + GENL_HDRLEN;
	n = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	while (n >= NLA_HDRLEN) {
		struct nlattr *a = (void *)p;

		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			memcpy(&nl->family, p + NLA_HDRLEN, 2);
		if (a->nla_type == CTRL_ATTR_MCAST_GROUPS) {
			/* nest of nests: { id, name } */
			struct nlattr *g = (void *)(p + NLA_HDRLEN);
			int gl = a->nla_len - NLA_HDRLEN;

			while (gl >= NLA_HDRLEN) {
				struct nlattr *f = (void *)((char *)g + NLA_HDRLEN);
				int fl = g->nla_len - NLA_HDRLEN;

				while (fl >= NLA_HDRLEN) {
					if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
						memcpy(&nl->mcgrp, (char *)f + NLA_HDRLEN, 4);
					fl -= NLA_ALIGN(f->nla_len);
					f = (void *)((char *)f + NLA_ALIGN(f->nla_len));
				}
				gl -= NLA_ALIGN(g->nla_len);
				g = (void *)((char *)g + NLA_ALIGN(g->nla_len));
			}
		}
		n -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
	/* Drain the ACK. */
	nl_recv(nl, NULL, NULL, NULL, 0);
	return nl->family ? 0 : -ENOENT;
}

static void parse_cb(const struct nlmsghdr *m, void *arg)
{
	parse(m, arg);
}

/* GET_VM of one id into @at; 0 or -errno. */
static int nl_get_vm(struct nl *nl, uint32_t id, struct attrs *at)
{
	char buf[4096];
	struct nlmsghdr *h = nl_new(buf);

	put_attr(h, MINIKVM_A_VM_ID, &id, 4);
	if (nl_send(nl, nl->family, MINIKVM_CMD_GET_VM, 0, h))
		return -errno;
	return nl_recv(nl, parse_cb, at, NULL, 0);
}

struct found {
	const char *name;
	uint32_t id;
	int count;
};

static void find_cb(const struct nlmsghdr *m, void *arg)
{
	struct found *f = arg;
	struct attrs at;

	parse(m, &at);
	f->count++;
	if (f->name && at.a[MINIKVM_A_VM_NAME] &&
	    !strcmp((char *)at.a[MINIKVM_A_VM_NAME] + NLA_HDRLEN, f->name))
		f->id = u64a(&at, MINIKVM_A_VM_ID);
}

/* Dump all VMs; the id of the one named @name (0 if absent). */
static uint32_t nl_find(struct nl *nl, const char *name, int *count)
{
	char buf[4096];
	struct nlmsghdr *h = nl_new(buf);
	struct found f = { .name = name };

	if (nl_send(nl, nl->family, MINIKVM_CMD_GET_VM, NLM_F_DUMP, h) ||
	    nl_recv(nl, find_cb, &f, NULL, 0))
		return 0;
	if (count)
		*count = f.count;
	return f.id;
}

/* ---- guests ------------------------------------------------------------ */

struct guest {
	int sys, vm, vcpu;
	struct kvm_run *run;
	uint8_t *mem;
};

#define MEM_SIZE 0x20000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* guest_create() makes an in-kernel irqchip before the vCPU. */
static bool create_irqchip;

/* A real-mode guest at 0x1000 in a 128 KiB slot. */
static int guest_create(struct guest *g, const void *code, size_t len,
			const char *name)
{
	struct kvm_userspace_memory_region r = { .memory_size = MEM_SIZE };
	struct kvm_sregs s;
	/* IF set: Bochs stops its host while a nested guest spins with IF clear. */
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x202 };

	g->sys = open(mkvm_dev(), O_RDWR | O_CLOEXEC);
	g->vm = ioctl(g->sys, KVM_CREATE_VM, 0);
	if (g->vm < 0)
		return -errno;
	if (name && ioctl(g->vm, MINIKVM_SET_VM_NAME, name))
		return -errno;
	g->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(g->mem + 0x1000, code, len);
	r.userspace_addr = (unsigned long)g->mem;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	if (create_irqchip && ioctl(g->vm, KVM_CREATE_IRQCHIP, 0))
		return -errno;
	g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
	g->run = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		      g->vcpu, 0);
	ioctl(g->vcpu, KVM_GET_SREGS, &s);
	s.cs.base = 0;
	s.cs.selector = 0;
	ioctl(g->vcpu, KVM_SET_SREGS, &s);
	return ioctl(g->vcpu, KVM_SET_REGS, &regs) ? -errno : 0;
}

static void guest_destroy(struct guest *g)
{
	munmap(g->run, 2 * 4096);
	munmap(g->mem, MEM_SIZE);
	close(g->vcpu);
	close(g->vm);
	close(g->sys);
}

/* mov $n, %cx; 1: out %al, $0x10; loop 1b; hlt */
#define OUT_LOOP(n) { 0xb9, (n) & 0xff, (n) >> 8, 0xe6, 0x10, 0xe2, 0xfc, 0xf4 }

/* mov $0x2000, %bx; mov $k, %cx; 1: mov %al, (%bx); add $0x1000, %bx; loop 1b; hlt */
#define TOUCH_LOOP(k) { 0xbb, 0x00, 0x20, 0xb9, (k), 0x00, 0x88, 0x07, \
			0x81, 0xc3, 0x00, 0x10, 0xe2, 0xf8, 0xf4 }

FIXTURE(nl) {
	struct nl nl;
	char name[32];
};

FIXTURE_SETUP(nl)
{
	int r;

	if (mkvm_is_kvm())
		SKIP(return, "the minikvm netlink family is minikvm's own");
	r = nl_open(&self->nl);
	ASSERT_EQ(0, r) TH_LOG("family %s: %s", MINIKVM_GENL_NAME, strerror(-r));
	snprintf(self->name, sizeof(self->name), "nltest-%d", getpid());
}

FIXTURE_TEARDOWN(nl)
{
	if (self->nl.fd > 0)
		close(self->nl.fd);
}

#define SKIP_ON_KVM() do { if (mkvm_is_kvm()) SKIP(return, "minikvm only"); } while (0)

/* N port writes are N io exits; the VM's figures describe it. */
TEST_F(nl, counts_io_exits_and_describes_vm)
{
	const uint8_t code[] = OUT_LOOP(50);
	struct guest g;
	struct attrs at;
	uint32_t id;
	int i, n = 0;

	SKIP_ON_KVM();
	ASSERT_EQ(0, guest_create(&g, code, sizeof(code), self->name));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, ioctl(g.vcpu, KVM_RUN, 0));
		if (g.run->exit_reason == KVM_EXIT_HLT)
			break;
		ASSERT_EQ(KVM_EXIT_IO, g.run->exit_reason);
		n++;
	}
	ASSERT_EQ(50, n);
	id = nl_find(&self->nl, self->name, NULL);
	ASSERT_NE(0, id);
	ASSERT_EQ(0, nl_get_vm(&self->nl, id, &at));
	EXPECT_EQ(50, at.exits[MINIKVM_STAT_IO]);
	EXPECT_EQ(1, at.exits[MINIKVM_STAT_HLT]);
	EXPECT_EQ(51, u64a(&at, MINIKVM_A_USER_EXITS));
	EXPECT_LE(51, u64a(&at, MINIKVM_A_EXITS_TOTAL));
	EXPECT_EQ(getpid(), u64a(&at, MINIKVM_A_VM_PID));
	EXPECT_EQ(geteuid(), u64a(&at, MINIKVM_A_VM_UID));
	EXPECT_EQ(1, u64a(&at, MINIKVM_A_VM_NR_VCPUS));
	EXPECT_EQ(MEM_SIZE, u64a(&at, MINIKVM_A_VM_MEM_BYTES));
	EXPECT_EQ(MINIKVM_VM_STOPPED, u64a(&at, MINIKVM_A_VM_STATE));
	EXPECT_EQ(MINIKVM_GENL_VERSION, u64a(&at, MINIKVM_A_VERSION));
	EXPECT_LT(0, u64a(&at, MINIKVM_A_VM_PT_BYTES));
	guest_destroy(&g);
	/* Gone from the dump once closed. */
	EXPECT_EQ(0, nl_find(&self->nl, self->name, NULL));
	EXPECT_EQ(-ENOENT, nl_get_vm(&self->nl, id, &at));
}

/*
 * MSR accesses: the FS/GS bases and KERNEL_GS_BASE go straight to the
 * CPU (ten rounds of three WRMSRs and two RDMSRs make no exit), STAR is
 * intercepted (one WRMSR and one RDMSR are two exits), and every value
 * written arrives.
 */
#define MSR_LOOP {							\
	0xbe, 0x0a, 0x00,			/* mov $10, %si */	\
	0x66, 0xb9, 0x00, 0x01, 0x00, 0xc0,	/* 1: mov $FS_BASE, %ecx */ \
	0x66, 0xb8, 0x00, 0x10, 0x00, 0x00,	/* mov $0x1000, %eax */	\
	0x66, 0x31, 0xd2,			/* xor %edx, %edx */	\
	0x0f, 0x30,				/* wrmsr */		\
	0x66, 0x41, 0x0f, 0x30,			/* inc %ecx; wrmsr (GS) */ \
	0x66, 0x41, 0x0f, 0x30,			/* inc %ecx; wrmsr (KGS) */ \
	0x0f, 0x32,				/* rdmsr */		\
	0x66, 0x49, 0x0f, 0x32,			/* dec %ecx; rdmsr */	\
	0x4e, 0x75, 0xde,			/* dec %si; jnz 1b */	\
	0x66, 0xb9, 0x81, 0x00, 0x00, 0xc0,	/* mov $STAR, %ecx */	\
	0x0f, 0x30, 0x0f, 0x32,			/* wrmsr; rdmsr */	\
	0xf4 }					/* hlt */

static uint64_t get_msr(int vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	if (ioctl(vcpu, KVM_GET_MSRS, &m) != 1)
		return ~0ULL;
	return m.e.data;
}

/*
 * Run the real-mode @code of guest_create() to its HLT and read the VM's
 * attributes into @at; the guest stays for the caller to inspect.
 */
#define run_to_hlt(g, code, at) do {					\
	uint32_t __id;							\
	ASSERT_EQ(0, guest_create(g, code, sizeof(code), self->name));	\
	ASSERT_EQ(0, ioctl((g)->vcpu, KVM_RUN, 0));			\
	ASSERT_EQ(KVM_EXIT_HLT, (g)->run->exit_reason);		\
	__id = nl_find(&self->nl, self->name, NULL);			\
	ASSERT_EQ(0, nl_get_vm(&self->nl, __id, at));			\
} while (0)

TEST_F(nl, msr_exits_only_for_intercepted_msrs)
{
	const uint8_t code[] = MSR_LOOP;
	struct guest g;
	struct attrs at;

	SKIP_ON_KVM();
	run_to_hlt(&g, code, &at);
	EXPECT_EQ(2, at.exits[MINIKVM_STAT_MSR]);
	EXPECT_EQ(1, at.exits[MINIKVM_STAT_HLT]);
	EXPECT_EQ(0x1000, get_msr(g.vcpu, 0xc0000100));	/* FS_BASE */
	EXPECT_EQ(0x1000, get_msr(g.vcpu, 0xc0000101));	/* GS_BASE */
	EXPECT_EQ(0x1000, get_msr(g.vcpu, 0xc0000102));	/* KERNEL_GS_BASE */
	EXPECT_EQ(0x1000, get_msr(g.vcpu, 0xc0000081));	/* STAR */
	guest_destroy(&g);
}

/*
 * WBINVD and WBNOINVD are intercepted and skipped: 20 of each are 40
 * exits counted as wbinvd, and the guest runs on to its HLT.
 */
TEST_F(nl, wbinvd_exits_counted)
{
	const uint8_t code[] = {
		0xb9, 0x14, 0x00,		/* mov $20, %cx */
		0x0f, 0x09,			/* 1: wbinvd */
		0xf3, 0x0f, 0x09,		/* wbnoinvd */
		0xe2, 0xf9,			/* loop 1b */
		0xf4 };				/* hlt */
	struct guest g;
	struct attrs at;

	SKIP_ON_KVM();
	run_to_hlt(&g, code, &at);
	EXPECT_EQ(40, at.exits[MINIKVM_STAT_WBINVD]);
	EXPECT_EQ(1, at.exits[MINIKVM_STAT_HLT]);
	EXPECT_EQ(0, at.exits[MINIKVM_STAT_OTHER]);
	guest_destroy(&g);
}

/*
 * With an in-kernel irqchip: a HLT sleeps in the kernel and is counted
 * with its time asleep, the LAPIC timer's interrupt and an MSI are
 * counted by source.  The host programs the LAPIC (KVM_SET_LAPIC): a
 * 20 ms one-shot timer on vector 0x40, whose real-mode handler ends the
 * run with an OUT.  The sleep lasts from the HLT (soon after KVM_RUN
 * begins) to the timer: no longer than KVM_RUN, and at least 5 ms when
 * KVM_RUN began within 10 ms of the timer's start.
 */
TEST_F(nl, irqchip_halts_and_interrupts)
{
	const uint8_t code[] = { 0xfb, 0xf4, 0xeb, 0xfd };	/* sti; 1: hlt; jmp 1b */
	const uint8_t handler[] = { 0xe6, 0x10, 0xcf };		/* out %al, $0x10; iret */
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x41 };
	struct kvm_lapic_state lapic;
	struct kvm_regs regs;
	struct guest g;
	struct attrs at;
	uint64_t t0, t1, t2;
	uint32_t id;

	SKIP_ON_KVM();
	create_irqchip = true;
	ASSERT_EQ(0, guest_create(&g, code, sizeof(code), self->name));
	create_irqchip = false;
	memcpy(g.mem + 0x1100, handler, sizeof(handler));
	memcpy(g.mem + 0x40 * 4, (uint16_t[]){ 0x1100, 0 }, 4);
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_GET_LAPIC, &lapic));
	*(uint32_t *)(lapic.regs + 0xf0) = 0x1ff;	/* SVR: enabled */
	*(uint32_t *)(lapic.regs + 0x320) = 0x40;	/* LVTT: one-shot */
	*(uint32_t *)(lapic.regs + 0x3e0) = 0xb;	/* TDCR: divide by 1 */
	*(uint32_t *)(lapic.regs + 0x380) = 20000000;	/* TMICT: 20 ms */
	*(uint32_t *)(lapic.regs + 0x390) = 20000000;	/* TMCCT: from there */
	t0 = now_ns();
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_SET_LAPIC, &lapic));
	/* IF clear until the STI: the HLT comes first, whenever the timer. */
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_GET_REGS, &regs));
	regs.rflags = 0x2;
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_SET_REGS, &regs));
	t1 = now_ns();
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_RUN, 0));
	t2 = now_ns();
	ASSERT_EQ(KVM_EXIT_IO, g.run->exit_reason);
	EXPECT_EQ(0x10, g.run->io.port);
	EXPECT_EQ(1, ioctl(g.vm, KVM_SIGNAL_MSI, &msi));

	id = nl_find(&self->nl, self->name, NULL);
	ASSERT_NE(0, id);
	ASSERT_EQ(0, nl_get_vm(&self->nl, id, &at));
	EXPECT_EQ(1, at.exits[MINIKVM_STAT_HLT]);
	EXPECT_EQ(1, u64a(&at, MINIKVM_A_HALTS));
	TH_LOG("timer armed %.1f ms before KVM_RUN, which took %.1f ms; asleep %.1f ms",
	       (t1 - t0) / 1e6, (t2 - t1) / 1e6, u64a(&at, MINIKVM_A_HALT_NS) / 1e6);
	EXPECT_GE(t2 - t1, u64a(&at, MINIKVM_A_HALT_NS));
	if (t1 - t0 < 10000000)
		EXPECT_LE(5000000, u64a(&at, MINIKVM_A_HALT_NS));
	/*
	 * Time in the guest, handling exits and asleep do not overlap: the
	 * sleep is not exit time.  1 ms for the clocks' skew (local_clock()
	 * for the first two, ktime for the sleep).
	 */
	TH_LOG("guest %.3f ms, exits %.3f ms",
	       u64a(&at, MINIKVM_A_GUEST_NS) / 1e6, u64a(&at, MINIKVM_A_EXIT_NS) / 1e6);
	EXPECT_LT(0, u64a(&at, MINIKVM_A_EXIT_NS));
	EXPECT_GE(t2 - t1 + 1000000, u64a(&at, MINIKVM_A_GUEST_NS) +
		  u64a(&at, MINIKVM_A_EXIT_NS) + u64a(&at, MINIKVM_A_HALT_NS));
	EXPECT_EQ(1, u64a(&at, MINIKVM_A_IRQ_TIMER));
	EXPECT_EQ(1, u64a(&at, MINIKVM_A_IRQ_MSI));
	EXPECT_EQ(0, u64a(&at, MINIKVM_A_IRQ_IPI));
	EXPECT_EQ(0, u64a(&at, MINIKVM_A_IRQ_LINE));
	EXPECT_EQ(1, u64a(&at, MINIKVM_A_USER_EXITS));
	guest_destroy(&g);
}

/* K pages touched are K resident pages (plus the code page). */
TEST_F(nl, resident_pages)
{
	const uint8_t code[] = TOUCH_LOOP(7);
	struct guest g;
	struct attrs at;
	uint32_t id;

	SKIP_ON_KVM();
	ASSERT_EQ(0, guest_create(&g, code, sizeof(code), self->name));
	id = nl_find(&self->nl, self->name, NULL);
	ASSERT_EQ(0, nl_get_vm(&self->nl, id, &at));
	EXPECT_EQ(0, u64a(&at, MINIKVM_A_VM_RESIDENT_BYTES));
	EXPECT_EQ(MINIKVM_VM_CREATED, u64a(&at, MINIKVM_A_VM_STATE));
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_RUN, 0));
	ASSERT_EQ(KVM_EXIT_HLT, g.run->exit_reason);
	ASSERT_EQ(0, nl_get_vm(&self->nl, id, &at));
	EXPECT_EQ(8 * 4096, u64a(&at, MINIKVM_A_VM_RESIDENT_BYTES));
	EXPECT_EQ(8, at.exits[MINIKVM_STAT_NPF]);
	guest_destroy(&g);
}

static void on_alarm(int sig)
{
}

/* Guest time grows while a guest spins; the vCPU dump shows it too. */
TEST_F(nl, guest_time_and_vcpus)
{
	const uint8_t code[] = { 0xeb, 0xfe };		/* jmp . */
	struct sigaction sa = { .sa_handler = on_alarm };
	struct guest g;
	struct attrs at, v;
	struct nlmsghdr *h;
	uint64_t t1, t2;
	char buf[4096];
	uint32_t id;

	SKIP_ON_KVM();
	ASSERT_EQ(0, guest_create(&g, code, sizeof(code), self->name));
	sigaction(SIGALRM, &sa, NULL);
	id = nl_find(&self->nl, self->name, NULL);
	ualarm(300000, 0);
	EXPECT_EQ(-1, ioctl(g.vcpu, KVM_RUN, 0));
	EXPECT_EQ(EINTR, errno);
	ASSERT_EQ(0, nl_get_vm(&self->nl, id, &at));
	t1 = u64a(&at, MINIKVM_A_GUEST_NS);
	EXPECT_LT(100000000ULL, t1) {
		TH_LOG("guest_ns %llu after 300 ms of spinning",
		       (unsigned long long)t1);
	}
	ualarm(200000, 0);
	ioctl(g.vcpu, KVM_RUN, 0);
	ASSERT_EQ(0, nl_get_vm(&self->nl, id, &at));
	t2 = u64a(&at, MINIKVM_A_GUEST_NS);
	EXPECT_LT(t1 + 50000000ULL, t2);

	/* The vCPU dump: one vCPU, id 0, with the same guest time. */
	h = nl_new(buf);
	memset(&v, 0, sizeof(v));
	put_attr(h, MINIKVM_A_VM_ID, &id, 4);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family,
			     MINIKVM_CMD_GET_VCPUS, NLM_F_DUMP, h));
	ASSERT_EQ(0, nl_recv(&self->nl, parse_cb, &v, NULL, 0));
	ASSERT_NE(NULL, v.a[MINIKVM_A_VCPU_ID]);
	EXPECT_EQ(0, u64a(&v, MINIKVM_A_VCPU_ID));
	EXPECT_EQ(t2, u64a(&v, MINIKVM_A_GUEST_NS));
	EXPECT_EQ(2, u64a(&v, MINIKVM_A_USER_EXITS));
	guest_destroy(&g);
}

/* Events for create, destroy and a triple fault. */
TEST_F(nl, events)
{
	/* lidt [0x1008] (an empty IDT); int3; the #BP shuts the VM down */
	const uint8_t code[] = { 0x0f, 0x01, 0x1e, 0x08, 0x10, 0xcc, 0xf4, 0xf4, 0, 0, 0, 0, 0, 0 };
	struct nl ev;
	struct guest g;
	char buf[NL_BUF];
	int n, seen = 0, created = 0, destroyed = 0, shutdown = 0, one = 1;
	struct timeval tv = { .tv_sec = 2 };

	SKIP_ON_KVM();
	ASSERT_EQ(0, nl_open(&ev));
	ASSERT_NE(0, ev.mcgrp);
	ASSERT_EQ(0, setsockopt(ev.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				&ev.mcgrp, sizeof(ev.mcgrp)));
	setsockopt(ev.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)one;

	ASSERT_EQ(0, guest_create(&g, code, sizeof(code), self->name));
	ASSERT_EQ(0, ioctl(g.vcpu, KVM_RUN, 0));
	EXPECT_EQ(KVM_EXIT_SHUTDOWN, g.run->exit_reason);
	guest_destroy(&g);

	while (seen < 3 && (n = recv(ev.fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *h;

		for (h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct attrs at;

			parse(h, &at);
			if (u64a(&at, MINIKVM_A_VM_PID) != (uint64_t)getpid())
				continue;
			switch (u64a(&at, MINIKVM_A_EVENT)) {
			case MINIKVM_EVENT_VM_CREATED: created++; seen++; break;
			case MINIKVM_EVENT_VM_DESTROYED: destroyed++; seen++; break;
			case MINIKVM_EVENT_VCPU_SHUTDOWN:
				shutdown++; seen++;
				EXPECT_EQ(0, u64a(&at, MINIKVM_A_VCPU_ID));
				break;
			}
		}
	}
	EXPECT_EQ(1, created);
	EXPECT_EQ(1, shutdown);
	EXPECT_EQ(1, destroyed);
	close(ev.fd);
}

/* MINIKVM_SET_VM_NAME: what it accepts and refuses. */
TEST_F(nl, vm_name)
{
	char longname[MINIKVM_VM_NAME_MAX];
	int sys, vm;

	SKIP_ON_KVM();
	sys = open(mkvm_dev(), O_RDWR);
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	ASSERT_GE(vm, 0);
	memset(longname, 'a', sizeof(longname));
	EXPECT_EQ(-ENAMETOOLONG, __mkvm_ioctl(vm, MINIKVM_SET_VM_NAME, (unsigned long)longname));
	longname[sizeof(longname) - 1] = 0;
	EXPECT_EQ(0, __mkvm_ioctl(vm, MINIKVM_SET_VM_NAME, (unsigned long)longname));
	EXPECT_EQ(-EINVAL, __mkvm_ioctl(vm, MINIKVM_SET_VM_NAME, (unsigned long)"bad\nname"));
	EXPECT_EQ(-EFAULT, __mkvm_ioctl(vm, MINIKVM_SET_VM_NAME, 0));
	EXPECT_EQ(0, __mkvm_ioctl(vm, MINIKVM_SET_VM_NAME, (unsigned long)self->name));
	EXPECT_NE(0, nl_find(&self->nl, self->name, NULL));
	close(vm);
	close(sys);
}

/* Malformed requests get an errno and an extended-ack message. */
TEST_F(nl, bad_requests)
{
	char buf[4096], msg[256];
	struct nlmsghdr *h;
	uint16_t short_id = 1;
	uint32_t id = 0xfffffff0;
	char big[1000];

	SKIP_ON_KVM();
	h = nl_new(buf);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, MINIKVM_CMD_GET_VM, 0, h));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "MINIKVM_A_VM_ID")) TH_LOG("extack: '%s'", msg);

	h = nl_new(buf);
	put_attr(h, MINIKVM_A_VM_ID, &short_id, 2);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, MINIKVM_CMD_GET_VM, 0, h));
	EXPECT_GT(0, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));

	h = nl_new(buf);
	put_attr(h, MINIKVM_A_VM_ID, &id, 4);
	put_attr(h, MINIKVM_A_MAX + 5, &id, 4);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, MINIKVM_CMD_GET_VM, 0, h));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));

	h = nl_new(buf);
	memset(big, 0, sizeof(big));
	put_attr(h, MINIKVM_A_VM_ID, big, sizeof(big));
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, MINIKVM_CMD_GET_VM, 0, h));
	EXPECT_GT(0, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));

	h = nl_new(buf);
	put_attr(h, MINIKVM_A_VM_ID, &id, 4);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, MINIKVM_CMD_GET_VM, 0, h));
	EXPECT_EQ(-ENOENT, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));

	/* An unknown command, and the vCPU dump without its VM. */
	h = nl_new(buf);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, 77, 0, h));
	EXPECT_GT(0, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));
	h = nl_new(buf);
	ASSERT_EQ(0, nl_send(&self->nl, self->nl.family, MINIKVM_CMD_GET_VCPUS, NLM_F_DUMP, h));
	EXPECT_EQ(-EINVAL, nl_recv(&self->nl, NULL, NULL, msg, sizeof(msg)));
}

/* Another user sees none of our VMs; we (root) see theirs. */
TEST_F(nl, other_user_cannot_see)
{
	const uint8_t code[] = OUT_LOOP(1);
	struct guest g;
	uint32_t id;
	int status;
	pid_t pid;

	SKIP_ON_KVM();
	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, guest_create(&g, code, sizeof(code), self->name));
	id = nl_find(&self->nl, self->name, NULL);
	ASSERT_NE(0, id);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct nl nl2;
		struct attrs at;
		int count = -1;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (nl_open(&nl2))
			_exit(11);
		if (nl_find(&nl2, self->name, &count) || count != 0)
			_exit(12);
		if (nl_get_vm(&nl2, id, &at) != -ENOENT)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	guest_destroy(&g);
}

static volatile int churn_stop;

static void *churn(void *arg)
{
	int sys = open(mkvm_dev(), O_RDWR);

	while (!churn_stop) {
		int vm = ioctl(sys, KVM_CREATE_VM, 0);
		int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);

		close(vcpu);
		close(vm);
	}
	close(sys);
	return NULL;
}

/* Dumps while VMs come and go in parallel: no crash, sane answers. */
TEST_F(nl, dump_races_vm_churn)
{
	pthread_t t[4];
	int i, count, dumps = 0;
	time_t end;

	SKIP_ON_KVM();
	churn_stop = 0;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, NULL));
	end = time(NULL) + mkvm_stress(4);
	while (time(NULL) < end) {
		count = -1;
		nl_find(&self->nl, NULL, &count);
		EXPECT_LE(0, count);
		EXPECT_GE(8, count);
		dumps++;
	}
	churn_stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	EXPECT_LT(10, dumps);
}

TEST_HARNESS_MAIN
