// SPDX-License-Identifier: GPL-2.0
/*
 * Nested page tables (AMD NPT, Intel EPT): a radix tree per VM mapping
 * guest-physical to host-physical pages.  The depth is the backend's:
 * NPT walks with the host's paging mode, so it has five levels when the
 * host runs with 5-level paging (LA57).
 *
 * Leaves are 4 KiB, or 2 MiB where the slot's memory is a transparent
 * huge page (a PMD-sized folio) whose 512 pages the 2 MiB of guest-
 * physical space map one to one, in a writable slot that does not log
 * dirty pages: one fault then maps 512 pages.  Each of them is pinned
 * and in the slot's pages[] like a 4 KiB one, so everything that counts
 * or unpins pages is the same; only the walks stop at such a leaf.
 *
 * Filled lazily: a nested page fault on a slot's page pins the user page
 * and maps it (mkvm_mmu_map()).  The backend supplies the entry format.
 * A pinned page stays pinned, and mapped, until its slot is deleted or
 * moved or the VM is destroyed; it is unpinned only after every vCPU has
 * flushed its TLB, so the guest can never reach a page the host freed.
 *
 * While a slot logs dirty pages (KVM_MEM_LOG_DIRTY_PAGES), a read maps
 * its page read-only and a write marks the page dirty in the slot's
 * bitmap and maps it writable; KVM_GET_DIRTY_LOG (memslot.c) takes the
 * bits and write-protects those pages again.
 *
 * A slot that goes away is first made invalid (mkvm_mmu_zap_slot()):
 * from then on a fault on it maps nothing and the vCPU retries, so its
 * range stays empty while it is unmapped and until the new slot array
 * is published (memslot.c).  An entry belongs to the slot whose pages[]
 * holds the page it maps: a slot's zap clears only its own entries, and
 * a fault that finds its page pinned but its entry gone maps it again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/processor.h>

#include "minikvm.h"

#define MKVM_PT_ADDR_MASK	GENMASK_ULL(51, 12)

/* The page pinned at index @idx of @slot, or NULL.  mmu_lock held. */
static struct page *mkvm_slot_page(const struct mkvm_memslot *slot, u64 idx)
{
	struct page **chunk = slot->pages[idx / MKVM_SLOT_CHUNK];

	return chunk ? chunk[idx % MKVM_SLOT_CHUNK] : NULL;
}

/*
 * Where the page at index @idx of @slot goes, its chunk allocated at the
 * first use; NULL if out of memory.  mmu_lock held.
 */
static struct page **mkvm_slot_page_ptr(struct mkvm_memslot *slot, u64 idx)
{
	struct page ***chunk = &slot->pages[idx / MKVM_SLOT_CHUNK];

	if (!*chunk)
		*chunk = kzalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	return *chunk ? &(*chunk)[idx % MKVM_SLOT_CHUNK] : NULL;
}

static u64 *mkvm_pt_table(u64 entry)
{
	return phys_to_virt(entry & MKVM_PT_ADDR_MASK);
}

static unsigned int mkvm_pt_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* Whether @e, at @level (1 or 2), is a 2 MiB leaf. */
static bool mkvm_pt_huge(u64 e, int level)
{
	return level == 2 && mkvm_call(npt_present)(e) && (e & MKVM_PT_HUGE);
}

/* Whether the leaf entry @e at @level maps @page (or its 2 MiB). */
static bool mkvm_pt_maps(u64 e, int level, struct page *page)
{
	u64 mask = level == 2 ? MKVM_PT_ADDR_MASK & PMD_MASK : MKVM_PT_ADDR_MASK;

	return mkvm_call(npt_present)(e) &&
	       (e & mask) == (page_to_phys(page) & mask);
}

/*
 * Guest-physical address bits a VM can have memory at: the host's
 * physical address width, from CPUID as KVM takes it (memory encryption
 * lowers x86_phys_bits, not what the nested tables accept), and at most
 * the tables' reach, 9 bits a level above the page offset: 48 bits with
 * 4 levels, 57 with 5.  Above it, the tables' index would wrap.
 */
int mkvm_mmu_gpa_bits(void)
{
	int reach = PAGE_SHIFT + 9 * mkvm_call(npt_levels)();
	int bits = 36;

	if (boot_cpu_data.extended_cpuid_level >= 0x80000008)
		bits = cpuid_eax(0x80000008) & 0xff;
	return min(bits, reach);
}

bool mkvm_mmu_gpa_valid(struct mkvm_vm *vm, u64 gpa)
{
	return !(gpa >> vm->gpa_bits);
}

int mkvm_mmu_init(struct mkvm_vm *vm)
{
	mutex_init(&vm->mmu_lock);
	vm->npt_root = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vm->npt_root)
		return -ENOMEM;
	vm->npt_pages = 1;
	vm->npt_levels = mkvm_call(npt_levels)();
	vm->gpa_bits = mkvm_mmu_gpa_bits();
	return 0;
}

u64 mkvm_mmu_root_pa(struct mkvm_vm *vm)
{
	return page_to_phys(vm->npt_root);
}

/*
 * The entry for @gpa at level @want (1 or 2), or the 2 MiB leaf on the
 * way there; *@level says which.  Allocates tables if @alloc.  NULL
 * beyond the VM's guest-physical width, whose high bits no level would
 * index.  mmu_lock held.
 */
static u64 *mkvm_pt_walk(struct mkvm_vm *vm, u64 gpa, int want, bool alloc,
			 int *level)
{
	u64 *table = page_address(vm->npt_root);
	int l;

	if (!mkvm_mmu_gpa_valid(vm, gpa))
		return NULL;

	for (l = vm->npt_levels; l > want; l--) {
		u64 *e = &table[mkvm_pt_index(gpa, l)];

		if (mkvm_pt_huge(*e, l)) {
			*level = l;
			return e;
		}
		if (!mkvm_call(npt_present)(*e)) {
			struct page *page;

			if (!alloc)
				return NULL;
			page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!page)
				return NULL;
			vm->npt_pages++;
			WRITE_ONCE(*e, mkvm_call(npt_table_entry)(page_to_phys(page)));
		}
		table = mkvm_pt_table(*e);
	}
	*level = want;
	return &table[mkvm_pt_index(gpa, want)];
}

/* The 4 KiB leaf entry for @gpa, or the 2 MiB leaf above it. */
static u64 *mkvm_pt_leaf(struct mkvm_vm *vm, u64 gpa, bool alloc, int *level)
{
	return mkvm_pt_walk(vm, gpa, 1, alloc, level);
}

/*
 * Point @pte at @page, the slot's page @idx.  Writable if the slot is,
 * except while it logs dirty pages: then only for a write, which marks
 * the page dirty first (KVM_GET_DIRTY_LOG takes the bit and
 * write-protects the entry again under mmu_lock).  A present entry is
 * never made read-only here: a read racing with a write keeps it.
 * mmu_lock held.
 */
static void mkvm_pt_set_leaf(struct mkvm_memslot *slot, u64 idx, u64 *pte,
			     struct page *page, bool write)
{
	bool writable = !(slot->flags & KVM_MEM_READONLY);

	if (slot->dirty_bitmap) {
		writable = writable && write;
		if (writable)
			set_bit_le(idx, slot->dirty_bitmap);
	}
	if (writable || !mkvm_pt_maps(*pte, 1, page))
		WRITE_ONCE(*pte, mkvm_call(npt_leaf_entry)(page_to_phys(page),
							   writable));
}

/*
 * A fault on a page pinned already: a write to a page write-protected
 * for dirty logging, another vCPU's fault meanwhile, or an entry another
 * slot's zap cleared.  Map it again, as it is: the page stays the one
 * pinned first (a vCPU may still hold a translation to it), and the
 * guest must not fault forever.  Returns 0, 1 if the page is not
 * pinned, or -errno as mkvm_mmu_map().  mmu_lock held.
 */
static int mkvm_mmu_remap(struct mkvm_vm *vm, struct mkvm_memslot *slot,
			  u64 gpa, bool write)
{
	u64 idx = (gpa >> PAGE_SHIFT) - slot->base_gfn;
	struct page *page;
	int level;
	u64 *pte;

	if (slot->invalid)		/* going away: map nothing */
		return -EAGAIN;
	page = mkvm_slot_page(slot, idx);
	if (!page)
		return 1;
	pte = mkvm_pt_leaf(vm, gpa, true, &level);
	if (!pte)
		return -ENOMEM;
	/* A 2 MiB leaf maps it already, writable (another vCPU's fault). */
	if (level == 1)
		mkvm_pt_set_leaf(slot, idx, pte, page, write);
	return 0;
}

/*
 * Whether the 2 MiB around @gpa (the slot's pages from @first) can still
 * become one leaf: none of its pages is mapped (pinned) and no table is
 * below its level-2 entry (left by 4 KiB leaves since zapped: then it
 * keeps to 4 KiB).  Returns 0 if so.  mmu_lock held.
 */
static int mkvm_mmu_huge_free(struct mkvm_vm *vm, struct mkvm_memslot *slot,
			      u64 gpa, u64 first)
{
	u64 *pte;
	int i, level;

	for (i = 0; i < PTRS_PER_PMD; i++)
		if (mkvm_slot_page(slot, first + i))
			return 1;
	pte = mkvm_pt_walk(vm, gpa & PMD_MASK, 2, false, &level);
	return pte && mkvm_call(npt_present)(*pte);
}

/*
 * The 2 MiB of guest-physical space around @gpa, as one leaf, if @page
 * (pinned at @gpa) is part of a transparent huge page that backs all of
 * it: the slot is writable, logs no dirty pages and covers the 2 MiB,
 * the user addresses are 2 MiB-aligned like the guest-physical ones, and
 * no page of the 2 MiB is mapped yet.  The 512 pages are pinned one by
 * one (checked to be that folio's, in order) and go to pages[] as 4 KiB
 * ones would.  Returns 0 when mapped, 1 to map @page alone, or -errno.
 */
static int mkvm_mmu_map_huge(struct mkvm_vm *vm, struct mkvm_memslot *slot,
			     u64 gpa, struct page *page)
{
	u64 gfn = gpa >> PAGE_SHIFT, huge_gfn = gfn & ~(u64)(PTRS_PER_PMD - 1);
	u64 first = huge_gfn - slot->base_gfn;
	unsigned long hva = slot->uaddr + (first << PAGE_SHIFT);
	unsigned long pfn = page_to_pfn(page) - (gfn - huge_gfn);
	struct folio *folio = page_folio(page);
	struct page **pages;
	int i, n = 0, r = 1, level;
	u64 *pte, entry;

	if (!mkvm_call(npt_has_huge)() ||
	    (slot->flags & KVM_MEM_READONLY) || slot->dirty_bitmap)
		return 1;
	/* The slot holds the 2 MiB, at 2 MiB-aligned user addresses. */
	if (huge_gfn < slot->base_gfn ||
	    first + PTRS_PER_PMD > slot->npages || hva & ~PMD_MASK)
		return 1;
	/* The folio holds the 2 MiB of host-physical memory behind them. */
	if (pfn & (PTRS_PER_PMD - 1) || pfn < folio_pfn(folio) ||
	    pfn + PTRS_PER_PMD > folio_pfn(folio) + folio_nr_pages(folio))
		return 1;
	/*
	 * Nothing of the 2 MiB mapped yet, and no table below: checked
	 * before pinning 512 pages too, so that the 4 KiB faults of a
	 * region that cannot have the leaf do not each pin and unpin them.
	 */
	mutex_lock(&vm->mmu_lock);
	r = mkvm_mmu_huge_free(vm, slot, gpa, first);
	mutex_unlock(&vm->mmu_lock);
	if (r)
		return 1;

	pages = kmalloc_array(PTRS_PER_PMD, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return 1;
	n = pin_user_pages_fast(hva, PTRS_PER_PMD,
				FOLL_LONGTERM | FOLL_WRITE, pages);
	if (n != PTRS_PER_PMD)
		goto unpin;
	for (i = 0; i < PTRS_PER_PMD; i++)
		if (page_to_pfn(pages[i]) != pfn + i)
			goto unpin;

	mutex_lock(&vm->mmu_lock);
	r = -EAGAIN;
	if (slot->invalid)
		goto unlock;
	r = 1;
	if (mkvm_mmu_huge_free(vm, slot, gpa, first))
		goto unlock;
	r = -ENOMEM;
	pte = mkvm_pt_walk(vm, gpa & PMD_MASK, 2, true, &level);
	/* The 512 entries may span two chunks: both there before any. */
	if (!pte || !mkvm_slot_page_ptr(slot, first) ||
	    !mkvm_slot_page_ptr(slot, first + PTRS_PER_PMD - 1))
		goto unlock;
	entry = mkvm_call(npt_huge_entry)(PFN_PHYS(pfn), true);
	for (i = 0; i < PTRS_PER_PMD; i++)
		*mkvm_slot_page_ptr(slot, first + i) = pages[i];
	slot->resident += PTRS_PER_PMD;
	WRITE_ONCE(vm->npt_huge, vm->npt_huge + 1);
	WRITE_ONCE(*pte, entry);
	mutex_unlock(&vm->mmu_lock);
	kfree(pages);
	return 0;

unlock:
	mutex_unlock(&vm->mmu_lock);
unpin:
	if (n > 0)
		unpin_user_pages(pages, n);
	kfree(pages);
	return r;
}

int mkvm_mmu_map(struct mkvm_vm *vm, struct mkvm_memslot *slot, u64 gpa,
		 bool write)
{
	u64 idx = (gpa >> PAGE_SHIFT) - slot->base_gfn;
	bool writable = !(slot->flags & KVM_MEM_READONLY);
	unsigned long hva = slot->uaddr + (idx << PAGE_SHIFT);
	unsigned int flags = FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
	struct page *page, **slot_page;
	int r, level;
	u64 *pte;

	if (!mkvm_mmu_gpa_valid(vm, gpa))
		return -EFAULT;
	/* Pinned already: no need to pin it again (dirty logging's case). */
	mutex_lock(&vm->mmu_lock);
	r = mkvm_mmu_remap(vm, slot, gpa, write);
	mutex_unlock(&vm->mmu_lock);
	if (r <= 0)
		return r;

	r = pin_user_pages_fast(hva, 1, flags, &page);
	if (r != 1)
		return r < 0 ? r : -EFAULT;

	/* Part of a transparent huge page: all of its 2 MiB at once. */
	if (folio_test_large(page_folio(page))) {
		r = mkvm_mmu_map_huge(vm, slot, gpa, page);
		if (r <= 0) {
			unpin_user_page(page);
			return r;
		}
	}

	mutex_lock(&vm->mmu_lock);
	/* Pinned by another vCPU's fault meanwhile, or going away? */
	r = mkvm_mmu_remap(vm, slot, gpa, write);
	if (r <= 0)
		goto unpin;
	r = -ENOMEM;
	pte = mkvm_pt_leaf(vm, gpa, true, &level);
	slot_page = mkvm_slot_page_ptr(slot, idx);
	if (!pte || !slot_page)
		goto unpin;
	/* Not pinned, so never under a 2 MiB leaf (all of whose are). */
	r = -EFAULT;
	if (level != 1)
		goto unpin;
	*slot_page = page;
	slot->resident++;
	mkvm_pt_set_leaf(slot, idx, pte, page, write);
	mutex_unlock(&vm->mmu_lock);
	return 0;

unpin:
	mutex_unlock(&vm->mmu_lock);
	unpin_user_page(page);
	return r;
}

bool mkvm_mmu_write_protect(struct mkvm_vm *vm, struct mkvm_memslot *slot,
			    u64 first, unsigned long mask)
{
	bool changed = false;

	lockdep_assert_held(&vm->mmu_lock);
	while (mask) {
		u64 idx = first + __ffs(mask);
		struct page *page = mkvm_slot_page(slot, idx);
		int level;
		u64 *pte;

		mask &= mask - 1;
		if (!page)		/* dirtied by a host write only */
			continue;
		/* A logging slot has no 2 MiB leaves (mkvm_mmu_map_huge()). */
		pte = mkvm_pt_leaf(vm, (slot->base_gfn + idx) << PAGE_SHIFT,
				   false, &level);
		if (!pte || level != 1 || !mkvm_pt_maps(*pte, 1, page))
			continue;
		WRITE_ONCE(*pte, mkvm_call(npt_leaf_entry)(page_to_phys(page),
							   false));
		changed = true;
	}
	return changed;
}

void mkvm_mmu_zap_slot(struct mkvm_vm *vm, struct mkvm_memslot *slot)
{
	bool writable = !(slot->flags & KVM_MEM_READONLY);
	u64 i;

	/* From here on no fault maps a page of @slot: resident is final. */
	mutex_lock(&vm->mmu_lock);
	WRITE_ONCE(slot->invalid, true);
	if (!slot->resident) {
		mutex_unlock(&vm->mmu_lock);
		return;
	}
	for (i = 0; i < slot->npages; i++) {
		struct page *page;
		int level;
		u64 *pte;

		if (!slot->pages[i / MKVM_SLOT_CHUNK]) {
			i |= MKVM_SLOT_CHUNK - 1;	/* a chunk never used */
			continue;
		}
		page = mkvm_slot_page(slot, i);
		if (!page)
			continue;
		pte = mkvm_pt_leaf(vm, (slot->base_gfn + i) << PAGE_SHIFT,
				   false, &level);
		/* Only an entry of this slot's: never another slot's. */
		if (!pte || !mkvm_pt_maps(*pte, level, page))
			continue;
		WRITE_ONCE(*pte, 0);
		if (level == 2)
			WRITE_ONCE(vm->npt_huge, vm->npt_huge - 1);
	}
	mutex_unlock(&vm->mmu_lock);

	/* No vCPU may keep a translation to the pages we unpin below. */
	mkvm_kick_all(vm, MKVM_REQ_TLB_FLUSH);

	/* The slot is invalid and unmapped: nothing else touches pages[]. */
	for (i = 0; i < DIV_ROUND_UP(slot->npages, MKVM_SLOT_CHUNK); i++) {
		struct page **chunk = slot->pages[i];
		unsigned int j;

		if (!chunk)
			continue;
		for (j = 0; j < MKVM_SLOT_CHUNK; j++) {
			if (!chunk[j])
				continue;
			unpin_user_pages_dirty_lock(&chunk[j], 1, writable);
			chunk[j] = NULL;
		}
		cond_resched();
	}
	slot->resident = 0;
}

static void mkvm_pt_free(u64 *table, int level)
{
	unsigned int i;
	u64 e;

	if (level > 1) {
		for (i = 0; i < 512; i++) {
			e = table[i];
			if (mkvm_call(npt_present)(e) && !mkvm_pt_huge(e, level))
				mkvm_pt_free(mkvm_pt_table(e), level - 1);
		}
	}
	free_page((unsigned long)table);
}

/* At VM destruction, after the slots are gone: free the tables. */
void mkvm_mmu_destroy(struct mkvm_vm *vm)
{
	if (vm->npt_root)
		mkvm_pt_free(page_address(vm->npt_root), vm->npt_levels);
	vm->npt_root = NULL;
}
