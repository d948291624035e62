/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of the ucall protocol (see guest.h).
 */
#ifndef MKVM_LIB_UCALL_H
#define MKVM_LIB_UCALL_H

#include <stdint.h>

#include "guest.h"
#include "vm.h"

struct ucall {
	uint8_t cmd;
	uint64_t args[4];
};

/*
 * Decode the last exit as a ucall: UCALL_NONE if it was not an OUT of one
 * byte to UCALL_PORT, else the command with its arguments.
 */
uint8_t get_ucall(struct vcpu *vcpu, struct ucall *uc);

/*
 * KVM_RUN until the next ucall and return it.  Any other exit, a failed
 * GUEST_ASSERT or an unhandled guest exception fails the test with a
 * description and a register dump.
 */
#define vcpu_run_ucall(vcpu, uc) __vcpu_run_ucall(vcpu, uc, __FILE__, __LINE__)
uint8_t __vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc,
			 const char *file, int line);

/* Run and expect this command (UCALL_SYNC, UCALL_DONE). */
#define vcpu_run_expect(vcpu, cmd, uc) \
	__vcpu_run_expect(vcpu, cmd, uc, __FILE__, __LINE__)
void __vcpu_run_expect(struct vcpu *vcpu, uint8_t cmd, struct ucall *uc,
		       const char *file, int line);

/* Fail the test on a UCALL_ASSERT/UCALL_UNHANDLED, explaining it. */
void ucall_check(struct vcpu *vcpu, const struct ucall *uc,
		 const char *file, int line);

#endif /* MKVM_LIB_UCALL_H */
