// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of the ucall protocol (see guest.h and ucall.h).
 */
#include <stdio.h>

#include "ucall.h"

static const char *const ucall_name[NR_UCALLS] = {
	[UCALL_NONE] = "none",
	[UCALL_SYNC] = "SYNC",
	[UCALL_DONE] = "DONE",
	[UCALL_ASSERT] = "ASSERT",
	[UCALL_UNHANDLED] = "UNHANDLED",
};

uint8_t get_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
	    run->io.count != 1)
		return UCALL_NONE;

	vcpu_get_regs(vcpu, &regs);
	uc->cmd = *((uint8_t *)run + run->io.data_offset);
	uc->args[0] = regs.rdi;
	uc->args[1] = regs.rsi;
	uc->args[2] = regs.rdx;
	uc->args[3] = regs.rcx;
	return uc->cmd;
}

/* A string of the guest's, read from guest memory (gva = gpa). */
static const char *guest_string(struct vcpu *vcpu, uint64_t gva)
{
	static char buf[256];
	const char *p = __gpa2hva(vcpu->vm, gva, 1);
	size_t i;

	if (!p)
		return "(string not in guest memory)";
	for (i = 0; i < sizeof(buf) - 1 && __gpa2hva(vcpu->vm, gva + i, 1); i++) {
		buf[i] = p[i];
		if (!p[i])
			break;
	}
	buf[i] = 0;
	return buf;
}

void ucall_check(struct vcpu *vcpu, const struct ucall *uc,
		 const char *file, int line)
{
	switch (uc->cmd) {
	case UCALL_ASSERT:
		if (uc->args[3] == 1)
			__test_fail(file, line, "guest assertion",
				    "%s (%#llx != %#llx)",
				    guest_string(vcpu, uc->args[0]),
				    (unsigned long long)uc->args[1],
				    (unsigned long long)uc->args[2]);
		__test_fail(file, line, "guest assertion", "%s",
			    guest_string(vcpu, uc->args[0]));
		break;
	case UCALL_UNHANDLED:
		vcpu_dump(vcpu);
		__test_fail(file, line, "guest exception",
			    "vCPU %d: unexpected exception vector %llu, error code %#llx, at rip %#llx",
			    vcpu->id, (unsigned long long)uc->args[0],
			    (unsigned long long)uc->args[1],
			    (unsigned long long)uc->args[2]);
		break;
	}
}

uint8_t __vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc,
			 const char *file, int line)
{
	struct ucall tmp;

	if (!uc)
		uc = &tmp;
	vcpu_run(vcpu);
	if (get_ucall(vcpu, uc) == UCALL_NONE) {
		vcpu_dump(vcpu);
		__test_fail(file, line, "ucall", "vCPU %d: expected a ucall, got exit %s",
			    vcpu->id, exit_reason_str(vcpu->run->exit_reason));
	}
	ucall_check(vcpu, uc, file, line);
	return uc->cmd;
}

void __vcpu_run_expect(struct vcpu *vcpu, uint8_t cmd, struct ucall *uc,
		       const char *file, int line)
{
	struct ucall tmp;

	if (!uc)
		uc = &tmp;
	__vcpu_run_ucall(vcpu, uc, file, line);
	if (uc->cmd != cmd)
		__test_fail(file, line, "ucall", "vCPU %d: expected ucall %s, got %s (%u)",
			    vcpu->id, cmd < NR_UCALLS ? ucall_name[cmd] : "?",
			    uc->cmd < NR_UCALLS ? ucall_name[uc->cmd] : "?", uc->cmd);
}
