// SPDX-License-Identifier: GPL-2.0
/*
 * vmrun's own VM as the "minikvm" generic netlink family reports it
 * (see vmctl(8), Documentation/netlink.rst): read just before the VM is
 * closed and printed on stderr, so the user can right-size the guest.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/minikvm.h>
#include "vmrun.h"

static const char *const stat_name[__MINIKVM_STAT_MAX] = {
	[MINIKVM_STAT_IO] = "io", [MINIKVM_STAT_MMIO] = "mmio",
	[MINIKVM_STAT_NPF] = "npf", [MINIKVM_STAT_HLT] = "hlt",
	[MINIKVM_STAT_CPUID] = "cpuid", [MINIKVM_STAT_MSR] = "msr",
	[MINIKVM_STAT_INTR] = "intr", [MINIKVM_STAT_IRQ_WINDOW] = "irq_window",
	[MINIKVM_STAT_XSETBV] = "xsetbv",
	[MINIKVM_STAT_EXCEPTION] = "exception",
	[MINIKVM_STAT_SHUTDOWN] = "shutdown",
	[MINIKVM_STAT_FAIL_ENTRY] = "fail_entry",
	[MINIKVM_STAT_OTHER] = "other",
};

struct vm_stats {
	bool found;
	uint32_t id, nr_vcpus;
	uint64_t mem, resident, pt, guest_ns, exit_ns, exits_total, user_exits;
	uint64_t exits[__MINIKVM_STAT_MAX];
};

static uint64_t u64_of(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

/* The newest VM this process created (the dump is all visible VMs). */
static int pick(struct nl_msg *msg, void *arg)
{
	struct vm_stats *s = arg;
	struct nlattr *tb[MINIKVM_A_MAX + 1], *a;
	uint32_t id;
	int rem;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MINIKVM_A_MAX, NULL) ||
	    !tb[MINIKVM_A_VM_ID] || !tb[MINIKVM_A_VM_PID] ||
	    nla_get_u32(tb[MINIKVM_A_VM_PID]) != (uint32_t)getpid())
		return NL_SKIP;
	id = nla_get_u32(tb[MINIKVM_A_VM_ID]);
	if (s->found && id < s->id)
		return NL_SKIP;
	memset(s, 0, sizeof(*s));
	s->found = true;
	s->id = id;
	s->nr_vcpus = tb[MINIKVM_A_VM_NR_VCPUS] ?
		      nla_get_u32(tb[MINIKVM_A_VM_NR_VCPUS]) : 0;
	s->mem = u64_of(tb, MINIKVM_A_VM_MEM_BYTES);
	s->resident = u64_of(tb, MINIKVM_A_VM_RESIDENT_BYTES);
	s->pt = u64_of(tb, MINIKVM_A_VM_PT_BYTES);
	s->guest_ns = u64_of(tb, MINIKVM_A_GUEST_NS);
	s->exit_ns = u64_of(tb, MINIKVM_A_EXIT_NS);
	s->exits_total = u64_of(tb, MINIKVM_A_EXITS_TOTAL);
	s->user_exits = u64_of(tb, MINIKVM_A_USER_EXITS);
	if (tb[MINIKVM_A_EXITS])
		nla_for_each_nested(a, tb[MINIKVM_A_EXITS], rem)
			if (nla_type(a) >= 1 && nla_type(a) <= __MINIKVM_STAT_MAX &&
			    nla_len(a) == 8)
				s->exits[nla_type(a) - 1] = nla_get_u64(a);
	return NL_OK;
}

static int read_stats(struct vm_stats *s)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	int family, r = -1;

	memset(s, 0, sizeof(*s));
	if (!sk || genl_connect(sk))
		goto out;
	family = genl_ctrl_resolve(sk, MINIKVM_GENL_NAME);
	if (family < 0)
		goto out;
	msg = nlmsg_alloc();
	if (!msg)
		goto out;
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
		    MINIKVM_CMD_GET_VM, MINIKVM_GENL_VERSION);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, pick, s);
	if (nl_send_auto(sk, msg) < 0 || nl_recvmsgs_default(sk) < 0)
		goto out;
	r = s->found ? 0 : -1;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return r;
}

static const char *size_str(uint64_t b, char *buf, size_t n)
{
	if (b >= (1ULL << 30) && !(b & ((1ULL << 20) - 1)))
		snprintf(buf, n, "%.1fG", b / (double)(1ULL << 30));
	else if (b >= (1ULL << 20))
		snprintf(buf, n, "%.1fM", b / (double)(1ULL << 20));
	else
		snprintf(buf, n, "%lluK", (unsigned long long)b >> 10);
	return buf;
}

/*
 * Print the VM's accounting on stderr (vmrun --stats): one line, and
 * with @detail every exit reason and the page-table memory.  Nothing
 * when the device is not /dev/minikvm (KVM has no such family).
 */
void vm_print_stats(struct vm *vm, bool detail)
{
	const char *name = vm->cfg->name;
	struct vm_stats s;
	char a[32], b[32], c[32];
	int i;

	if (strcmp(vm->cfg->device, MINIKVM_DEVICE_PATH) || read_stats(&s))
		return;
	fprintf(stderr, "vmrun: %s: stats: guest time %.3fs, %llu exits "
		"(io %llu, mmio %llu, hlt %llu), resident %s of %s (%.0f%%)\n",
		name, s.guest_ns / 1e9, (unsigned long long)s.exits_total,
		(unsigned long long)s.exits[MINIKVM_STAT_IO],
		(unsigned long long)s.exits[MINIKVM_STAT_MMIO],
		(unsigned long long)s.exits[MINIKVM_STAT_HLT],
		size_str(s.resident, a, sizeof(a)), size_str(s.mem, b, sizeof(b)),
		s.mem ? 100.0 * s.resident / s.mem : 0.0);
	if (!detail)
		return;
	fprintf(stderr, "vmrun: %s: stats: vm id %u, %u vCPUs, exit handling "
		"%.3fs, %llu exits to vmrun, page tables %s\n", name, s.id,
		s.nr_vcpus, s.exit_ns / 1e9, (unsigned long long)s.user_exits,
		size_str(s.pt, c, sizeof(c)));
	fprintf(stderr, "vmrun: %s: stats: exits by reason:", name);
	for (i = 0; i < __MINIKVM_STAT_MAX; i++)
		fprintf(stderr, " %s %llu", stat_name[i],
			(unsigned long long)s.exits[i]);
	fprintf(stderr, "\n");
}
