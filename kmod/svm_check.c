// SPDX-License-Identifier: GPL-2.0
/*
 * Built with MKVM_CHECKS=1 only: the checker of the VMCB clean bits
 * (svm_clean.h).  svm.c keeps a copy of the VMCB as each #VMEXIT left
 * it; before the next VMRUN every group still marked clean must hold
 * the same bytes as that copy, or svm.c wrote a field without clearing
 * its group's bit, which hardware would not see.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stddef.h>

#include "svm_clean.h"

struct svm_clean_field {
	u8 group;
	u16 offset;
	u16 size;
};

#define VMCB_OFF(f)	offsetof(struct vmcb, f)
#define VMCB_SIZE(f)	sizeof_field(struct vmcb, f)

/* The fields of each group, as the APM's table of clean bits lists them. */
static const struct svm_clean_field svm_clean_fields[] = {
	{ SVM_CLEAN_I, VMCB_OFF(control.intercepts),
	  VMCB_SIZE(control.intercepts) },
	{ SVM_CLEAN_I, VMCB_OFF(control.pause_filter_thresh),
	  VMCB_SIZE(control.pause_filter_thresh) },
	{ SVM_CLEAN_I, VMCB_OFF(control.pause_filter_count),
	  VMCB_SIZE(control.pause_filter_count) },
	{ SVM_CLEAN_I, VMCB_OFF(control.tsc_offset),
	  VMCB_SIZE(control.tsc_offset) },
	{ SVM_CLEAN_IOPM, VMCB_OFF(control.iopm_base_pa),
	  VMCB_SIZE(control.iopm_base_pa) },
	{ SVM_CLEAN_IOPM, VMCB_OFF(control.msrpm_base_pa),
	  VMCB_SIZE(control.msrpm_base_pa) },
	{ SVM_CLEAN_ASID, VMCB_OFF(control.asid), VMCB_SIZE(control.asid) },
	{ SVM_CLEAN_TPR, VMCB_OFF(control.int_ctl),
	  VMCB_SIZE(control.int_ctl) },
	{ SVM_CLEAN_TPR, VMCB_OFF(control.int_vector),
	  VMCB_SIZE(control.int_vector) },
	{ SVM_CLEAN_NP, VMCB_OFF(control.nested_ctl),
	  VMCB_SIZE(control.nested_ctl) },
	{ SVM_CLEAN_NP, VMCB_OFF(control.nested_cr3),
	  VMCB_SIZE(control.nested_cr3) },
	{ SVM_CLEAN_NP, VMCB_OFF(save.g_pat), VMCB_SIZE(save.g_pat) },
	{ SVM_CLEAN_CRX, VMCB_OFF(save.cr0), VMCB_SIZE(save.cr0) },
	{ SVM_CLEAN_CRX, VMCB_OFF(save.cr3), VMCB_SIZE(save.cr3) },
	{ SVM_CLEAN_CRX, VMCB_OFF(save.cr4), VMCB_SIZE(save.cr4) },
	{ SVM_CLEAN_CRX, VMCB_OFF(save.efer), VMCB_SIZE(save.efer) },
	{ SVM_CLEAN_DRX, VMCB_OFF(save.dr6), VMCB_SIZE(save.dr6) },
	{ SVM_CLEAN_DRX, VMCB_OFF(save.dr7), VMCB_SIZE(save.dr7) },
	{ SVM_CLEAN_DT, VMCB_OFF(save.gdtr), VMCB_SIZE(save.gdtr) },
	{ SVM_CLEAN_DT, VMCB_OFF(save.idtr), VMCB_SIZE(save.idtr) },
	{ SVM_CLEAN_SEG, VMCB_OFF(save.cs), VMCB_SIZE(save.cs) },
	{ SVM_CLEAN_SEG, VMCB_OFF(save.ds), VMCB_SIZE(save.ds) },
	{ SVM_CLEAN_SEG, VMCB_OFF(save.ss), VMCB_SIZE(save.ss) },
	{ SVM_CLEAN_SEG, VMCB_OFF(save.es), VMCB_SIZE(save.es) },
	{ SVM_CLEAN_SEG, VMCB_OFF(save.cpl), VMCB_SIZE(save.cpl) },
	{ SVM_CLEAN_CR2, VMCB_OFF(save.cr2), VMCB_SIZE(save.cr2) },
	{ SVM_CLEAN_LBR, VMCB_OFF(save.dbgctl), VMCB_SIZE(save.dbgctl) },
	{ SVM_CLEAN_LBR, VMCB_OFF(save.br_from), VMCB_SIZE(save.br_from) },
	{ SVM_CLEAN_LBR, VMCB_OFF(save.br_to), VMCB_SIZE(save.br_to) },
	{ SVM_CLEAN_LBR, VMCB_OFF(save.last_excp_from),
	  VMCB_SIZE(save.last_excp_from) },
	{ SVM_CLEAN_LBR, VMCB_OFF(save.last_excp_to),
	  VMCB_SIZE(save.last_excp_to) },
	{ SVM_CLEAN_AVIC, VMCB_OFF(control.avic_vapic_bar),
	  VMCB_SIZE(control.avic_vapic_bar) },
	{ SVM_CLEAN_AVIC, VMCB_OFF(control.avic_backing_page),
	  VMCB_SIZE(control.avic_backing_page) },
	{ SVM_CLEAN_AVIC, VMCB_OFF(control.avic_logical_id),
	  VMCB_SIZE(control.avic_logical_id) },
	{ SVM_CLEAN_AVIC, VMCB_OFF(control.avic_physical_id),
	  VMCB_SIZE(control.avic_physical_id) },
};

/* The groups in @clean whose fields differ between @now and @then. */
u32 svm_clean_violations(const struct vmcb *now, const struct vmcb *then,
			 u32 clean)
{
	const u8 *a = (const u8 *)now, *b = (const u8 *)then;
	u32 bad = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(svm_clean_fields); i++) {
		const struct svm_clean_field *f = &svm_clean_fields[i];

		if ((clean & BIT(f->group)) &&
		    memcmp(a + f->offset, b + f->offset, f->size))
			bad |= BIT(f->group);
	}
	return bad;
}

/*
 * At module load: the checker finds a change in each listed field under
 * its group's bit only, and none in a field outside every group.
 */
int svm_clean_selftest(void)
{
	struct vmcb *now, *then;
	u32 got, groups = 0;
	int i, r = -ENOMEM;

	now = kzalloc(sizeof(*now), GFP_KERNEL);
	then = kzalloc(sizeof(*then), GFP_KERNEL);
	if (!now || !then)
		goto out;
	r = -EINVAL;
	for (i = 0; i < ARRAY_SIZE(svm_clean_fields); i++) {
		const struct svm_clean_field *f = &svm_clean_fields[i];
		u8 *last = (u8 *)now + f->offset + f->size - 1;

		memset(now, 0, sizeof(*now));
		*last = 0x80;
		got = svm_clean_violations(now, then, SVM_CLEAN_ALL);
		if (got != BIT(f->group) ||
		    svm_clean_violations(now, then,
					 SVM_CLEAN_ALL & ~BIT(f->group))) {
			pr_err("VMCB clean-bit check: self-test failed at offset %#x (%#x)\n",
			       f->offset, got);
			goto out;
		}
		groups |= BIT(f->group);
	}
	memset(now, 0, sizeof(*now));
	now->save.rip = 1;
	now->control.event_inj = 1;
	now->save.fs.base = 1;
	if (groups != SVM_CLEAN_ALL ||
	    svm_clean_violations(now, then, SVM_CLEAN_ALL)) {
		pr_err("VMCB clean-bit check: self-test failed (groups %#x)\n",
		       groups);
		goto out;
	}
	pr_info("VMCB clean-bit check on (MKVM_CHECKS): self-test passed, %d groups\n",
		SVM_CLEAN_NR);
	r = 0;
out:
	kfree(now);
	kfree(then);
	return r;
}
