// SPDX-License-Identifier: GPL-2.0
/*
 * The "minikvm" generic netlink family: per-VM and per-vCPU accounting,
 * read on request (GET_VM doit/dumpit, GET_VCPUS dumpit), and events on
 * the "events" multicast group.  Modelled on taskstats: the counters live
 * in the VM and vCPU structs and are only summed when asked for.
 *
 * Unprivileged callers see the VMs created by their effective uid; a
 * caller with CAP_SYS_ADMIN sees all.  A VM is only reported while it is
 * alive: lookups run under the VM list lock, which a VM leaves before
 * any of it is freed, and take a reference with refcount_inc_not_zero().
 * See Documentation/netlink.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "minikvm.h"

static struct genl_family mkvm_genl_family;

/* Whom the request comes from may see @vm. */
static bool mkvm_nl_visible(struct sk_buff *skb, struct mkvm_vm *vm)
{
	return netlink_capable(skb, CAP_SYS_ADMIN) ||
	       uid_eq(vm->uid, current_euid());
}

/* A live VM by id, with a reference; NULL if none (or not visible). */
static struct mkvm_vm *mkvm_nl_get_vm(struct sk_buff *skb, u32 id)
{
	struct mkvm_vm *vm, *found = NULL;

	mkvm_vm_list_lock();
	list_for_each_entry(vm, mkvm_vm_list(), node) {
		if (vm->id == id && mkvm_nl_visible(skb, vm) &&
		    refcount_inc_not_zero(&vm->users)) {
			found = vm;
			break;
		}
	}
	mkvm_vm_list_unlock();
	return found;
}

static u32 mkvm_vm_state(struct mkvm_vm *vm)
{
	if (READ_ONCE(vm->shut_down))
		return MINIKVM_VM_SHUTDOWN;
	if (atomic_read(&vm->running))
		return MINIKVM_VM_RUNNING;
	return READ_ONCE(vm->has_run) ? MINIKVM_VM_STOPPED : MINIKVM_VM_CREATED;
}

/* The counters of one vCPU added into @sum. */
static void mkvm_stats_add(struct mkvm_vcpu_stats *sum, struct mkvm_vcpu *vcpu)
{
	int i;

	for (i = 0; i < __MINIKVM_STAT_MAX; i++)
		sum->exits[i] += READ_ONCE(vcpu->stats.exits[i]);
	sum->exits_total += READ_ONCE(vcpu->stats.exits_total);
	sum->user_exits += READ_ONCE(vcpu->stats.user_exits);
	sum->guest_ns += READ_ONCE(vcpu->stats.guest_ns);
	sum->exit_ns += READ_ONCE(vcpu->stats.exit_ns);
	sum->injections += READ_ONCE(vcpu->stats.injections);
	sum->halts += READ_ONCE(vcpu->stats.halts);
	sum->halt_ns += READ_ONCE(vcpu->stats.halt_ns);
	for (i = 0; i < MKVM_IRQ_SRC_NR; i++)
		sum->irqs[i] += atomic64_read(&vcpu->irqs[i]);
}

static int mkvm_nl_put_stats(struct sk_buff *msg,
			     const struct mkvm_vcpu_stats *st)
{
	struct nlattr *nest;
	int i;

	if (nla_put_u64_64bit(msg, MINIKVM_A_EXITS_TOTAL, st->exits_total,
			      MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_USER_EXITS, st->user_exits,
			      MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_GUEST_NS, st->guest_ns,
			      MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_EXIT_NS, st->exit_ns,
			      MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_INJECTIONS, st->injections,
			      MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_HALTS, st->halts, MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_HALT_NS, st->halt_ns,
			      MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_IRQ_TIMER,
			      st->irqs[MKVM_IRQ_SRC_TIMER], MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_IRQ_IPI,
			      st->irqs[MKVM_IRQ_SRC_IPI], MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_IRQ_LINE,
			      st->irqs[MKVM_IRQ_SRC_LINE], MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_IRQ_MSI,
			      st->irqs[MKVM_IRQ_SRC_MSI], MINIKVM_A_PAD))
		return -EMSGSIZE;
	nest = nla_nest_start(msg, MINIKVM_A_EXITS);
	if (!nest)
		return -EMSGSIZE;
	/* Attribute type i + 1 holds the count of enum minikvm_exit_stat i. */
	for (i = 0; i < __MINIKVM_STAT_MAX; i++)
		if (nla_put_u64_64bit(msg, i + 1, st->exits[i], 0))
			return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

/* One VM as a GET_VM message. */
static int mkvm_nl_fill_vm(struct sk_buff *msg, struct mkvm_vm *vm, u32 portid,
			   u32 seq, int flags, u8 cmd)
{
	struct mkvm_vcpu_stats sum = {};
	u64 pages, resident;
	void *hdr;
	int i, n;

	hdr = genlmsg_put(msg, portid, seq, &mkvm_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;

	mutex_lock(&vm->lock);
	n = atomic_read(&vm->nr_vcpus);
	for (i = 0; i < n; i++)
		mkvm_stats_add(&sum, vm->vcpus[i]);
	if (nla_put_string(msg, MINIKVM_A_VM_NAME, vm->name)) {
		mutex_unlock(&vm->lock);
		goto cancel;
	}
	mutex_unlock(&vm->lock);

	mkvm_vm_mem_usage(vm, &pages, &resident);
	if (nla_put_u32(msg, MINIKVM_A_VERSION, MINIKVM_GENL_VERSION) ||
	    nla_put_u32(msg, MINIKVM_A_VM_ID, vm->id) ||
	    nla_put_u32(msg, MINIKVM_A_VM_PID, vm->pid) ||
	    nla_put_u32(msg, MINIKVM_A_VM_UID,
			from_kuid_munged(current_user_ns(), vm->uid)) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_VM_CREATED_NS, vm->created_ns,
			      MINIKVM_A_PAD) ||
	    nla_put_u32(msg, MINIKVM_A_VM_STATE, mkvm_vm_state(vm)) ||
	    nla_put_u32(msg, MINIKVM_A_VM_NR_VCPUS, n) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_VM_MEM_BYTES,
			      pages << PAGE_SHIFT, MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_VM_RESIDENT_BYTES,
			      resident << PAGE_SHIFT, MINIKVM_A_PAD) ||
	    nla_put_u64_64bit(msg, MINIKVM_A_VM_PT_BYTES,
			      (u64)READ_ONCE(vm->npt_pages) << PAGE_SHIFT,
			      MINIKVM_A_PAD) ||
	    mkvm_nl_put_stats(msg, &sum))
		goto cancel;
	genlmsg_end(msg, hdr);
	return 0;

cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

static int mkvm_nl_get_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mkvm_vm *vm;
	struct sk_buff *msg;
	int r;

	if (!info->attrs[MINIKVM_A_VM_ID]) {
		GENL_SET_ERR_MSG(info, "MINIKVM_A_VM_ID is required");
		return -EINVAL;
	}
	vm = mkvm_nl_get_vm(skb, nla_get_u32(info->attrs[MINIKVM_A_VM_ID]));
	if (!vm) {
		GENL_SET_ERR_MSG(info, "no such VM (or not yours)");
		return -ENOENT;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	r = -ENOMEM;
	if (!msg)
		goto put_vm;
	r = mkvm_nl_fill_vm(msg, vm, info->snd_portid, info->snd_seq, 0,
			    MINIKVM_CMD_GET_VM);
	if (r) {
		nlmsg_free(msg);
		goto put_vm;
	}
	r = genlmsg_reply(msg, info);
put_vm:
	mkvm_vm_put(vm);
	return r;
}

/*
 * Dump every visible VM.  The VM list lock is held throughout: a VM is
 * taken off the list, under that lock, before anything of it is freed,
 * so every VM seen here is whole; one already dying (no references) is
 * skipped.  cb->args[0] counts the VMs already sent; a VM created or
 * destroyed between two parts of a dump may be missed, as with other
 * netlink dumps.
 */
static int mkvm_nl_get_vm_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	long idx = 0, skip = cb->args[0];
	struct mkvm_vm *vm;

	mkvm_vm_list_lock();
	list_for_each_entry(vm, mkvm_vm_list(), node) {
		if (!refcount_read(&vm->users) || !mkvm_nl_visible(cb->skb, vm))
			continue;
		if (idx < skip) {
			idx++;
			continue;
		}
		if (mkvm_nl_fill_vm(skb, vm, NETLINK_CB(cb->skb).portid,
				    cb->nlh->nlmsg_seq, NLM_F_MULTI,
				    MINIKVM_CMD_GET_VM))
			break;
		idx++;
	}
	mkvm_vm_list_unlock();
	cb->args[0] = idx;
	return skb->len;
}

/* The vCPUs of one VM (MINIKVM_A_VM_ID), one message each. */
static int mkvm_nl_get_vcpus_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct nlattr *id = mkvm_genl_dump_attrs(cb)[MINIKVM_A_VM_ID];
	struct mkvm_vm *vm;
	long i = cb->args[0];
	int r = 0;

	if (!id) {
		NL_SET_ERR_MSG(cb->extack, "MINIKVM_A_VM_ID is required");
		return -EINVAL;
	}
	vm = mkvm_nl_get_vm(cb->skb, nla_get_u32(id));
	if (!vm) {
		NL_SET_ERR_MSG(cb->extack, "no such VM (or not yours)");
		return -ENOENT;
	}
	mutex_lock(&vm->lock);
	for (; i < atomic_read(&vm->nr_vcpus); i++) {
		struct mkvm_vcpu_stats st = {};
		struct mkvm_vcpu *vcpu = vm->vcpus[i];
		void *hdr;

		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &mkvm_genl_family,
				  NLM_F_MULTI, MINIKVM_CMD_GET_VCPUS);
		if (!hdr)
			break;
		mkvm_stats_add(&st, vcpu);
		if (nla_put_u32(skb, MINIKVM_A_VM_ID, vm->id) ||
		    nla_put_u32(skb, MINIKVM_A_VCPU_ID, vcpu->id) ||
		    mkvm_nl_put_stats(skb, &st)) {
			genlmsg_cancel(skb, hdr);
			r = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&vm->lock);
	mkvm_vm_put(vm);
	cb->args[0] = i;
	/* A vCPU that does not fit even in an empty message: give up. */
	if (r && !skb->len)
		return r;
	return skb->len;
}

static const struct nla_policy mkvm_nl_policy[MINIKVM_A_MAX + 1] = {
	[MINIKVM_A_VM_ID] = { .type = NLA_U32 },
};

static const struct genl_small_ops mkvm_nl_ops[] = {
	{
		.cmd	= MINIKVM_CMD_GET_VM,
		.doit	= mkvm_nl_get_vm_doit,
		.dumpit	= mkvm_nl_get_vm_dumpit,
	},
	{
		.cmd	= MINIKVM_CMD_GET_VCPUS,
		.dumpit	= mkvm_nl_get_vcpus_dumpit,
	},
};

static const struct genl_multicast_group mkvm_nl_mcgrps[] = {
	{ .name = MINIKVM_GENL_MCGRP },
};

static struct genl_family mkvm_genl_family __ro_after_init = {
	.name		= MINIKVM_GENL_NAME,
	.version	= MINIKVM_GENL_VERSION,
	.maxattr	= MINIKVM_A_MAX,
	.policy		= mkvm_nl_policy,
	.module		= THIS_MODULE,
	.small_ops	= mkvm_nl_ops,
	.n_small_ops	= ARRAY_SIZE(mkvm_nl_ops),
	.resv_start_op	= MINIKVM_CMD_MAX + 1,	/* strict for every command */
	.mcgrps		= mkvm_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(mkvm_nl_mcgrps),
	.netnsok	= false,
};

/* Tell the "events" group about @vm (@vcpu_id < 0: no vCPU). */
void mkvm_netlink_event(struct mkvm_vm *vm, u32 event, int vcpu_id)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&mkvm_genl_family, &init_net, 0))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &mkvm_genl_family, 0, MINIKVM_CMD_EVENT);
	if (!hdr)
		goto free;
	if (nla_put_u32(msg, MINIKVM_A_EVENT, event) ||
	    nla_put_u32(msg, MINIKVM_A_VM_ID, vm->id) ||
	    nla_put_u32(msg, MINIKVM_A_VM_PID, vm->pid) ||
	    nla_put_u32(msg, MINIKVM_A_VM_UID,
			from_kuid_munged(&init_user_ns, vm->uid)) ||
	    (vcpu_id >= 0 && nla_put_u32(msg, MINIKVM_A_VCPU_ID, vcpu_id)))
		goto free;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&mkvm_genl_family, msg, 0, 0, GFP_KERNEL);
	return;
free:
	nlmsg_free(msg);
}

int mkvm_netlink_init(void)
{
	return genl_register_family(&mkvm_genl_family);
}

void mkvm_netlink_exit(void)
{
	genl_unregister_family(&mkvm_genl_family);
}
