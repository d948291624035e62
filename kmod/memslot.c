// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slots: KVM_SET_USER_MEMORY_REGION and guest-physical access.
 *
 * The slot array is replaced as a whole (RCU style) under
 * vm->slots_lock and read under vm->srcu.  A slot that is deleted or
 * moved goes away in the order KVM's KVM_MR_DELETE and KVM_MR_MOVE use:
 *
 *   1. it is made invalid: a fault on it from then on maps nothing and
 *      is retried (it does not become MMIO either);
 *   2. its pages are unmapped from the nested page tables, every vCPU
 *      flushes its TLB, and the pages are unpinned (steps 1 and 2 are
 *      mkvm_mmu_zap_slot());
 *   3. only then is the new array published, with the slot at its new
 *      place or without it, and the old slot freed once no reader can
 *      hold it (synchronize_srcu()).
 *
 * So no vCPU can map a page of the new slot while the old one still has
 * entries, even where the two ranges overlap; during the change, guest
 * accesses to the old range wait (retry) and the new range outside it is
 * still MMIO.  A change of flags (KVM_MEM_LOG_DIRTY_PAGES on or off) goes
 * the same way, the new slot at the old place: its pages are mapped again
 * by faults, with the rights its flags give them.
 *
 * Dirty logging: a logging slot's bitmap has a bit per page, set by a
 * write fault (mmu.c) or a write of ours (mkvm_write_guest()) and taken
 * by KVM_GET_DIRTY_LOG (mkvm_get_dirty_log()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "minikvm.h"

#define MKVM_MAX_SLOT_PAGES	((1ULL << 31) - 1)

struct mkvm_memslot *mkvm_gfn_to_slot(struct mkvm_memslots *slots, u64 gfn)
{
	unsigned int i;

	for (i = 0; i < MKVM_MAX_SLOTS; i++) {
		struct mkvm_memslot *s = slots->slots[i];

		if (s && gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

static bool mkvm_slots_overlap(struct mkvm_memslots *slots, u16 id,
			       u64 base_gfn, u64 npages)
{
	unsigned int i;

	for (i = 0; i < MKVM_MAX_SLOTS; i++) {
		struct mkvm_memslot *s = slots->slots[i];

		if (s && i != id && base_gfn < s->base_gfn + s->npages &&
		    s->base_gfn < base_gfn + npages)
			return true;
	}
	return false;
}

/* The bitmap's bytes, in whole longs as KVM (kvm_dirty_bitmap_bytes()). */
static unsigned long mkvm_dirty_bitmap_bytes(struct mkvm_memslot *slot)
{
	return ALIGN(slot->npages, BITS_PER_LONG) / 8;
}

static void mkvm_memslot_free(struct mkvm_memslot *slot)
{
	u64 i;

	kvfree(slot->dirty_bitmap);
	if (slot->pages)
		for (i = 0; i < DIV_ROUND_UP(slot->npages, MKVM_SLOT_CHUNK); i++)
			kfree(slot->pages[i]);
	kvfree(slot->pages);
	kfree(slot);
}

/* Publish @new in place of the current array and wait for readers. */
static void mkvm_publish_slots(struct mkvm_vm *vm, struct mkvm_memslots *new)
{
	struct mkvm_memslots *old;

	old = rcu_replace_pointer(vm->slots, new,
				  lockdep_is_held(&vm->slots_lock));
	synchronize_srcu(&vm->srcu);
	kfree(old);
}

int mkvm_set_memory_region(struct mkvm_vm *vm,
			   const struct kvm_userspace_memory_region *mem)
{
	struct mkvm_memslots *slots, *new;
	struct mkvm_memslot *old, *slot = NULL;
	u16 id = mem->slot & 0xffff;
	u64 base_gfn, npages;
	int r;

	/* The same checks as KVM, in the same order, with its errnos. */
	if (mem->flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
		return -EINVAL;
	if (mem->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->userspace_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	if ((mem->slot >> 16) || id >= MKVM_MAX_SLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;

	base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	npages = mem->memory_size >> PAGE_SHIFT;
	/* At most 2^31 - 1 pages in a slot, as KVM (KVM_MEM_MAX_NR_PAGES). */
	if (npages > MKVM_MAX_SLOT_PAGES)
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	slots = rcu_dereference_protected(vm->slots,
					  lockdep_is_held(&vm->slots_lock));
	old = slots->slots[id];

	r = -EINVAL;
	if (!npages) {				/* delete */
		if (!old)
			goto out;
	} else if (old) {			/* move, new flags, or nothing */
		if (mem->userspace_addr != old->uaddr ||
		    npages != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			goto out;
		r = 0;
		if (base_gfn == old->base_gfn && mem->flags == old->flags)
			goto out;
	}
	r = -EEXIST;
	if (npages && mkvm_slots_overlap(slots, id, base_gfn, npages))
		goto out;
	/* Not beyond what the nested tables and the host address, as KVM. */
	r = -EINVAL;
	if (npages && base_gfn + npages > 1ULL << (vm->gpa_bits - PAGE_SHIFT))
		goto out;

	r = -ENOMEM;
	if (npages) {
		slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
		if (!slot)
			goto out;
		/* Its size is the caller's: fail quietly if it is too big. */
		slot->pages = kvcalloc(DIV_ROUND_UP(npages, MKVM_SLOT_CHUNK),
				       sizeof(*slot->pages),
				       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!slot->pages) {
			kfree(slot);
			goto out;
		}
		slot->id = id;
		slot->flags = mem->flags;
		slot->base_gfn = base_gfn;
		slot->npages = npages;
		slot->uaddr = mem->userspace_addr;
		if (old && old->dirty_bitmap &&
		    (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
			/* Moved while logging: its pages stay dirty. */
			slot->dirty_bitmap = old->dirty_bitmap;
		} else if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) {
			slot->dirty_bitmap =
				kvzalloc(2 * mkvm_dirty_bitmap_bytes(slot),
					 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
			if (!slot->dirty_bitmap) {
				mkvm_memslot_free(slot);
				goto out;
			}
		}
	}

	new = kmemdup(slots, sizeof(*slots), GFP_KERNEL_ACCOUNT);
	if (!new) {
		if (slot && old && slot->dirty_bitmap == old->dirty_bitmap)
			slot->dirty_bitmap = NULL;	/* still old's */
		if (slot)
			mkvm_memslot_free(slot);
		goto out;
	}
	new->slots[id] = slot;
	new->nr += (slot ? 1 : 0) - (old ? 1 : 0);

	/* Invalidate, unmap, flush and unpin @old before @slot is seen. */
	if (old)
		mkvm_mmu_zap_slot(vm, old);
	mkvm_publish_slots(vm, new);
	/* No reader sees @old any more. */
	if (old) {
		if (slot && slot->dirty_bitmap == old->dirty_bitmap)
			old->dirty_bitmap = NULL;	/* @slot's now */
		mkvm_memslot_free(old);
	}
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/* At VM destruction: no vCPU runs, nobody else holds the VM. */
void mkvm_free_memslots(struct mkvm_vm *vm)
{
	struct mkvm_memslots *slots = rcu_dereference_protected(vm->slots, 1);
	unsigned int i;

	if (!slots)
		return;
	for (i = 0; i < MKVM_MAX_SLOTS; i++) {
		if (!slots->slots[i])
			continue;
		mkvm_mmu_zap_slot(vm, slots->slots[i]);
		mkvm_memslot_free(slots->slots[i]);
	}
	kfree(slots);
}

/*
 * Copy to or from guest-physical memory through the slots' user
 * mappings.  Called from the vCPU thread (the VM's mm) under vm->srcu.
 */
static int mkvm_guest_access(struct mkvm_vm *vm, u64 gpa, void *data,
			     unsigned long len, bool write)
{
	struct mkvm_memslots *slots = srcu_dereference(vm->slots, &vm->srcu);

	while (len) {
		u64 gfn = gpa >> PAGE_SHIFT;
		unsigned long off = offset_in_page(gpa);
		unsigned long n = min(len, PAGE_SIZE - off);
		struct mkvm_memslot *s = mkvm_gfn_to_slot(slots, gfn);
		void __user *hva;

		if (!s)
			return -EFAULT;
		if (write && (s->flags & KVM_MEM_READONLY))
			return -EFAULT;
		hva = (void __user *)(unsigned long)(s->uaddr +
			((gfn - s->base_gfn) << PAGE_SHIFT) + off);
		if (write ? copy_to_user(hva, data, n) : copy_from_user(data, hva, n))
			return -EFAULT;
		/* As KVM's kvm_write_guest(): the host's writes are logged too. */
		if (write && s->dirty_bitmap)
			set_bit_le(gfn - s->base_gfn, s->dirty_bitmap);
		gpa += n;
		data += n;
		len -= n;
	}
	return 0;
}

int mkvm_read_guest(struct mkvm_vm *vm, u64 gpa, void *data, unsigned long len)
{
	return mkvm_guest_access(vm, gpa, data, len, false);
}

int mkvm_write_guest(struct mkvm_vm *vm, u64 gpa, const void *data,
		     unsigned long len)
{
	return mkvm_guest_access(vm, gpa, (void *)data, len, true);
}

/*
 * KVM_GET_DIRTY_LOG, as KVM without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * (kvm_get_dirty_log_protect()): under mmu_lock, each word of the bitmap
 * is taken and cleared at once (xchg) and its pages write-protected, so
 * a write is in this copy or faults and sets its bit again for the next;
 * every vCPU flushes its TLB before the copy goes out, so none writes
 * through an old writable translation after the ioctl returns.
 */
int mkvm_get_dirty_log(struct mkvm_vm *vm, void __user *argp)
{
	struct kvm_dirty_log log;
	struct mkvm_memslots *slots;
	struct mkvm_memslot *slot;
	unsigned long *bitmap, *buffer, n, i;
	bool flush = false;
	u16 as_id, id;
	int r;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	/* Address space 1 (SMM) exists in KVM, without any slot here. */
	as_id = log.slot >> 16;
	id = log.slot & 0xffff;
	if (as_id >= 2 || id >= MKVM_MAX_SLOTS)
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	slots = rcu_dereference_protected(vm->slots,
					  lockdep_is_held(&vm->slots_lock));
	slot = as_id ? NULL : slots->slots[id];
	r = -ENOENT;
	if (!slot || !slot->dirty_bitmap)
		goto out;

	bitmap = slot->dirty_bitmap;
	n = mkvm_dirty_bitmap_bytes(slot);
	buffer = bitmap + n / sizeof(long);
	memset(buffer, 0, n);
	mutex_lock(&vm->mmu_lock);
	for (i = 0; i < n / sizeof(long); i++) {
		if (!READ_ONCE(bitmap[i]))
			continue;
		buffer[i] = xchg(&bitmap[i], 0);
		if (mkvm_mmu_write_protect(vm, slot, i * BITS_PER_LONG,
					   buffer[i]))
			flush = true;
	}
	mutex_unlock(&vm->mmu_lock);
	if (flush)
		mkvm_kick_all(vm, MKVM_REQ_TLB_FLUSH);

	r = 0;
	if (copy_to_user(log.dirty_bitmap, buffer, n))
		r = -EFAULT;
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/* For accounting: pages configured in slots, and of those, mapped ones. */
void mkvm_vm_mem_usage(struct mkvm_vm *vm, u64 *pages, u64 *resident)
{
	struct mkvm_memslots *slots;
	struct mkvm_memslot *slot;
	int i, idx;

	*pages = 0;
	*resident = 0;
	idx = srcu_read_lock(&vm->srcu);
	slots = srcu_dereference(vm->slots, &vm->srcu);
	for (i = 0; i < MKVM_MAX_SLOTS; i++) {
		slot = slots->slots[i];
		if (!slot)
			continue;
		*pages += slot->npages;
		*resident += READ_ONCE(slot->resident);
	}
	srcu_read_unlock(&vm->srcu, idx);
}
