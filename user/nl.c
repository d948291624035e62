// SPDX-License-Identifier: GPL-2.0
/*
 * The "minikvm" generic netlink family from userspace: connecting, the
 * GET_VM/GET_VCPUS dump and its attributes, for vmctl and vmrun --stats.
 */
#include <stdio.h>
#include <string.h>
#include <netlink/genl/ctrl.h>
#include "nl.h"

const char *const mkvm_stat_name[__MINIKVM_STAT_MAX] = {
	[MINIKVM_STAT_IO] = "io", [MINIKVM_STAT_MMIO] = "mmio",
	[MINIKVM_STAT_NPF] = "npf", [MINIKVM_STAT_HLT] = "hlt",
	[MINIKVM_STAT_CPUID] = "cpuid", [MINIKVM_STAT_MSR] = "msr",
	[MINIKVM_STAT_INTR] = "intr", [MINIKVM_STAT_IRQ_WINDOW] = "irq_window",
	[MINIKVM_STAT_XSETBV] = "xsetbv",
	[MINIKVM_STAT_EXCEPTION] = "exception",
	[MINIKVM_STAT_SHUTDOWN] = "shutdown",
	[MINIKVM_STAT_FAIL_ENTRY] = "fail_entry",
	[MINIKVM_STAT_OTHER] = "other",
	[MINIKVM_STAT_WBINVD] = "wbinvd",
};

int mkvm_nl_open(struct mkvm_nl *nl)
{
	nl->sk = nl_socket_alloc();
	if (!nl->sk || genl_connect(nl->sk)) {
		mkvm_nl_close(nl);
		return MKVM_NL_NO_SOCKET;
	}
	nl->family = genl_ctrl_resolve(nl->sk, MINIKVM_GENL_NAME);
	if (nl->family < 0) {
		mkvm_nl_close(nl);
		return MKVM_NL_NO_FAMILY;
	}
	return 0;
}

void mkvm_nl_close(struct mkvm_nl *nl)
{
	nl_socket_free(nl->sk);
	nl->sk = NULL;
}

void mkvm_nl_parse_vm(struct nlattr **tb, struct mkvm_nl_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->id = mkvm_nl_u32(tb, MINIKVM_A_VM_ID);
	vm->pid = mkvm_nl_u32(tb, MINIKVM_A_VM_PID);
	vm->uid = mkvm_nl_u32(tb, MINIKVM_A_VM_UID);
	vm->state = mkvm_nl_u32(tb, MINIKVM_A_VM_STATE);
	vm->nr_vcpus = mkvm_nl_u32(tb, MINIKVM_A_VM_NR_VCPUS);
	vm->vcpu_id = mkvm_nl_u32(tb, MINIKVM_A_VCPU_ID);
	if (tb[MINIKVM_A_VM_NAME])
		snprintf(vm->name, sizeof(vm->name), "%s",
			 nla_get_string(tb[MINIKVM_A_VM_NAME]));
	vm->created_ns = mkvm_nl_u64(tb, MINIKVM_A_VM_CREATED_NS);
	vm->mem = mkvm_nl_u64(tb, MINIKVM_A_VM_MEM_BYTES);
	vm->resident = mkvm_nl_u64(tb, MINIKVM_A_VM_RESIDENT_BYTES);
	vm->pt = mkvm_nl_u64(tb, MINIKVM_A_VM_PT_BYTES);
	vm->st.exits_total = mkvm_nl_u64(tb, MINIKVM_A_EXITS_TOTAL);
	vm->st.user_exits = mkvm_nl_u64(tb, MINIKVM_A_USER_EXITS);
	vm->st.guest_ns = mkvm_nl_u64(tb, MINIKVM_A_GUEST_NS);
	vm->st.exit_ns = mkvm_nl_u64(tb, MINIKVM_A_EXIT_NS);
	vm->st.injections = mkvm_nl_u64(tb, MINIKVM_A_INJECTIONS);
	vm->st.halts = mkvm_nl_u64(tb, MINIKVM_A_HALTS);
	vm->st.halt_ns = mkvm_nl_u64(tb, MINIKVM_A_HALT_NS);
	vm->st.irq_timer = mkvm_nl_u64(tb, MINIKVM_A_IRQ_TIMER);
	vm->st.irq_ipi = mkvm_nl_u64(tb, MINIKVM_A_IRQ_IPI);
	vm->st.irq_line = mkvm_nl_u64(tb, MINIKVM_A_IRQ_LINE);
	vm->st.irq_msi = mkvm_nl_u64(tb, MINIKVM_A_IRQ_MSI);
	if (tb[MINIKVM_A_EXITS]) {
		struct nlattr *a;
		int rem;

		/* Attribute type i + 1 holds the count of exit reason i. */
		nla_for_each_nested(a, tb[MINIKVM_A_EXITS], rem) {
			int t = nla_type(a) - 1;

			if (t >= 0 && t < __MINIKVM_STAT_MAX &&
			    nla_len(a) == 8)
				vm->st.exits[t] = nla_get_u64(a);
		}
	}
}

struct dump_ctx {
	mkvm_nl_vm_cb cb;
	void *arg;
};

static int dump_one(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *ctx = arg;
	struct nlattr *tb[MINIKVM_A_MAX + 1];
	struct mkvm_nl_vm vm;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MINIKVM_A_MAX, NULL))
		return NL_SKIP;
	mkvm_nl_parse_vm(tb, &vm);
	return ctx->cb(&vm, ctx->arg);
}

int mkvm_nl_dump(struct mkvm_nl *nl, int cmd, int64_t vm_id,
		 mkvm_nl_vm_cb cb, void *arg)
{
	struct dump_ctx ctx = { cb, arg };
	struct nl_msg *msg = nlmsg_alloc();
	int r;

	if (!msg)
		return -NLE_NOMEM;
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, NLM_F_DUMP,
		    cmd, MINIKVM_GENL_VERSION);
	if (vm_id >= 0)
		nla_put_u32(msg, MINIKVM_A_VM_ID, (uint32_t)vm_id);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, dump_one, &ctx);
	r = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return r;
	r = nl_recvmsgs_default(nl->sk);
	/* ctx dies here: no later read may call back into it. */
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	return r < 0 ? r : 0;
}
