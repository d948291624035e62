/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMCB clean bits (AMD APM vol. 2, "VMCB State Caching"): a VMRUN may
 * take a group of VMCB fields from what the CPU cached at the last
 * #VMEXIT of the same VMCB on the same CPU when the group's bit in
 * control.clean is set.  svm.c sets every bit below after each exit and
 * clears a group's bit whenever it writes one of the group's fields; a
 * field outside every group (RIP, RSP, RAX, RFLAGS, EVENTINJ, the
 * interrupt shadow, TLB_CONTROL, what VMLOAD loads) is read at every
 * VMRUN.  The fields of each group are listed in svm_check.c.
 */
#ifndef MKVM_SVM_CLEAN_H
#define MKVM_SVM_CLEAN_H

#include <linux/bits.h>
#include <asm/svm.h>

enum svm_clean {
	SVM_CLEAN_I,		/* intercepts, TSC offset, pause filter */
	SVM_CLEAN_IOPM,		/* IOPM and MSRPM base addresses */
	SVM_CLEAN_ASID,
	SVM_CLEAN_TPR,		/* int_ctl (V_TPR, V_IRQ, ...), int_vector */
	SVM_CLEAN_NP,		/* nested paging enable, nCR3, G_PAT */
	SVM_CLEAN_CRX,		/* CR0, CR3, CR4, EFER */
	SVM_CLEAN_DRX,		/* DR6, DR7 */
	SVM_CLEAN_DT,		/* GDTR, IDTR */
	SVM_CLEAN_SEG,		/* CS, DS, SS, ES, CPL */
	SVM_CLEAN_CR2,
	SVM_CLEAN_LBR,		/* DEBUGCTL and the last-branch records */
	SVM_CLEAN_AVIC,		/* the AVIC pointers */
	SVM_CLEAN_NR
};

/* Every group minikvm knows; later ones (CET, ...) stay dirty. */
#define SVM_CLEAN_ALL	((u32)BIT(SVM_CLEAN_NR) - 1)

#ifdef MKVM_CHECKS
/*
 * make MKVM_CHECKS=1: at every VMRUN, the groups marked clean are
 * compared with the VMCB as the last #VMEXIT left it (svm_check.c).
 * QEMU's SVM model, the test rig's, reloads every field whatever the
 * bits say, so a missed svm_dirty() would pass every test there.
 */
u32 svm_clean_violations(const struct vmcb *now, const struct vmcb *then,
			 u32 clean);
int svm_clean_selftest(void);
#endif

#endif /* MKVM_SVM_CLEAN_H */
