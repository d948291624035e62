/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "minikvm" generic netlink family from userspace, through libnl-3:
 * what vmctl and vmrun --stats share (see Documentation/netlink.rst).
 */
#ifndef MKVM_USER_NL_H
#define MKVM_USER_NL_H

#include <stdint.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <linux/minikvm.h>

/* Exit-reason names, indexed by enum minikvm_exit_stat. */
extern const char *const mkvm_stat_name[__MINIKVM_STAT_MAX];

/* The counters of a VM (summed over its vCPUs) or of one vCPU. */
struct mkvm_nl_stats {
	uint64_t exits_total, user_exits, guest_ns, exit_ns, injections;
	uint64_t exits[__MINIKVM_STAT_MAX];	/* by enum minikvm_exit_stat */
	/* In-kernel irqchip: halts, and interrupts received by source. */
	uint64_t halts, halt_ns, irq_timer, irq_ipi, irq_line, irq_msi;
};

/* Every attribute of a GET_VM or GET_VCPUS reply; 0 ("") where absent. */
struct mkvm_nl_vm {
	uint32_t id, pid, uid, state, nr_vcpus, vcpu_id;
	char name[MINIKVM_VM_NAME_MAX];
	uint64_t created_ns, mem, resident, pt;
	struct mkvm_nl_stats st;
};

/* A generic netlink socket and the family's id on it. */
struct mkvm_nl {
	struct nl_sock *sk;
	int family;
};

/* What mkvm_nl_open() failed at. */
#define MKVM_NL_NO_SOCKET	-1	/* no generic netlink socket */
#define MKVM_NL_NO_FAMILY	-2	/* no "minikvm" family: module not loaded */

/* Connect and resolve the family: 0, or MKVM_NL_NO_* with nothing open. */
int mkvm_nl_open(struct mkvm_nl *nl);
void mkvm_nl_close(struct mkvm_nl *nl);

static inline uint32_t mkvm_nl_u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

static inline uint64_t mkvm_nl_u64(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

/* Fill @vm from the attributes of one reply (genlmsg_parse()d into @tb). */
void mkvm_nl_parse_vm(struct nlattr **tb, struct mkvm_nl_vm *vm);

/*
 * Dump @cmd (MINIKVM_CMD_GET_VM; MINIKVM_CMD_GET_VCPUS with @vm_id >= 0)
 * and call @cb on every reply, parsed.  @cb returns NL_OK, NL_SKIP or
 * NL_STOP.  Returns 0 or a negative libnl error (nl_geterror()).
 */
typedef int (*mkvm_nl_vm_cb)(const struct mkvm_nl_vm *vm, void *arg);
int mkvm_nl_dump(struct mkvm_nl *nl, int cmd, int64_t vm_id,
		 mkvm_nl_vm_cb cb, void *arg);

#endif /* MKVM_USER_NL_H */
