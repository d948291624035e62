// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_STATS_FD: the binary statistics of a VM or of a vCPU, in KVM's
 * layout (api.rst, "KVM_GET_STATS_FD"): a header, the id string right
 * after it, the descriptors (each followed by its name in a field of
 * name_size bytes), then one u64 per statistic.
 *
 * The values are minikvm's accounting, the counters netlink.c reports,
 * read live at each read() as netlink.c reads them: the vCPU's own
 * thread writes them with WRITE_ONCE and is never stopped for a reader.
 * A statistic has KVM's name where KVM counts the same thing, and the
 * name of minikvm's counter otherwise.
 *
 * The file holds a reference on the VM (a vCPU lives as long as its VM)
 * until it is released, so it may outlive the VM and vCPU fds.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "minikvm.h"

#define MKVM_STATS_NAME_SIZE	48	/* KVM's KVM_STATS_NAME_SIZE */
#define MKVM_STATS_MAX		40	/* statistics in one file, at most */

/* One statistic: its descriptor, and where a vCPU keeps its value. */
struct mkvm_stat {
	const char *name;
	u32 flags;		/* KVM_STATS_TYPE_*, _UNIT_*, _BASE_* */
	s16 exponent;
	u32 offset;		/* vCPU: of its u64 in struct mkvm_vcpu */
	bool atomic;		/* vCPU: an atomic64_t */
};

#define MKVM_COUNTER	(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | \
			 KVM_STATS_BASE_POW10)
#define MKVM_ICOUNTER	(KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_NONE | \
			 KVM_STATS_BASE_POW10)
#define MKVM_TIME_NS	(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS | \
			 KVM_STATS_BASE_POW10)

#define VCPU_COUNTER(n, field) \
	{ n, MKVM_COUNTER, 0, offsetof(struct mkvm_vcpu, stats.field) }
#define VCPU_EXITS(n, stat)	VCPU_COUNTER(n, exits[stat])
#define VCPU_TIME_NS(n, field) \
	{ n, MKVM_TIME_NS, -9, offsetof(struct mkvm_vcpu, stats.field) }
#define VCPU_IRQS(n, src) \
	{ n, MKVM_COUNTER, 0, offsetof(struct mkvm_vcpu, irqs[src]), true }

static const struct mkvm_stat mkvm_vcpu_stats[] = {
	/* KVM's names, for the same figures. */
	VCPU_COUNTER("exits", exits_total),
	VCPU_EXITS("io_exits", MINIKVM_STAT_IO),
	VCPU_EXITS("mmio_exits", MINIKVM_STAT_MMIO),
	VCPU_EXITS("halt_exits", MINIKVM_STAT_HLT),
	VCPU_EXITS("irq_window_exits", MINIKVM_STAT_IRQ_WINDOW),
	VCPU_EXITS("irq_exits", MINIKVM_STAT_INTR),
	VCPU_COUNTER("irq_injections", injections),
	VCPU_TIME_NS("halt_wait_ns", halt_ns),
	/* minikvm's own. */
	VCPU_COUNTER("user_exits", user_exits),
	VCPU_TIME_NS("guest_ns", guest_ns),
	VCPU_TIME_NS("exit_ns", exit_ns),
	VCPU_EXITS("npf_exits", MINIKVM_STAT_NPF),
	VCPU_EXITS("cpuid_exits", MINIKVM_STAT_CPUID),
	VCPU_EXITS("msr_exits", MINIKVM_STAT_MSR),
	VCPU_EXITS("xsetbv_exits", MINIKVM_STAT_XSETBV),
	VCPU_EXITS("exception_exits", MINIKVM_STAT_EXCEPTION),
	VCPU_EXITS("shutdown_exits", MINIKVM_STAT_SHUTDOWN),
	VCPU_EXITS("fail_entry_exits", MINIKVM_STAT_FAIL_ENTRY),
	VCPU_EXITS("wbinvd_exits", MINIKVM_STAT_WBINVD),
	VCPU_EXITS("other_exits", MINIKVM_STAT_OTHER),
	VCPU_COUNTER("kernel_halts", halts),
	VCPU_COUNTER("nmi_injections", nmi_injections),
	VCPU_IRQS("irqs_line", MKVM_IRQ_SRC_LINE),
	VCPU_IRQS("irqs_timer", MKVM_IRQ_SRC_TIMER),
	VCPU_IRQS("irqs_ipi", MKVM_IRQ_SRC_IPI),
	VCPU_IRQS("irqs_msi", MKVM_IRQ_SRC_MSI),
#ifdef MKVM_COSTS
	/* Built with MKVM_COSTS=1: privileged operations (cost.h). */
	VCPU_COUNTER("cost_vmread", costs[MKVM_COST_VMREAD]),
	VCPU_COUNTER("cost_vmwrite", costs[MKVM_COST_VMWRITE]),
	VCPU_COUNTER("cost_rdmsr", costs[MKVM_COST_RDMSR]),
	VCPU_COUNTER("cost_wrmsr", costs[MKVM_COST_WRMSR]),
	VCPU_COUNTER("cost_vmcs_switch", costs[MKVM_COST_VMCS_SWITCH]),
	VCPU_COUNTER("cost_vmload_vmsave", costs[MKVM_COST_VMLOAD_VMSAVE]),
	VCPU_COUNTER("cost_tlb_flush", costs[MKVM_COST_TLB_FLUSH]),
	VCPU_COUNTER("cost_clock", costs[MKVM_COST_CLOCK]),
	VCPU_COUNTER("cost_xsetbv", costs[MKVM_COST_XSETBV]),
	VCPU_COUNTER("cost_vmcb_dirty", costs[MKVM_COST_VMCB_DIRTY]),
#endif
};

/* A VM's statistics, computed at each read (mkvm_vm_stats_fill()). */
enum {
	MKVM_VM_PAGES_4K,
	MKVM_VM_PAGES_2M,
	MKVM_VM_MEMSLOT_PAGES,
	MKVM_VM_PT_PAGES,
	MKVM_VM_VCPUS,
	MKVM_VM_NR_STATS,
};

static const struct mkvm_stat mkvm_vm_stats[] = {
	/* The nested page tables' 4 KiB and 2 MiB leaves (as KVM). */
	[MKVM_VM_PAGES_4K]	= { "pages_4k", MKVM_ICOUNTER },
	[MKVM_VM_PAGES_2M]	= { "pages_2m", MKVM_ICOUNTER },
	/* minikvm's own: memory in slots, page-table pages, vCPUs. */
	[MKVM_VM_MEMSLOT_PAGES]	= { "memslot_pages", MKVM_ICOUNTER },
	[MKVM_VM_PT_PAGES]	= { "pt_pages", MKVM_ICOUNTER },
	[MKVM_VM_VCPUS]		= { "vcpus", MKVM_ICOUNTER },
};

static_assert(ARRAY_SIZE(mkvm_vm_stats) == MKVM_VM_NR_STATS);
static_assert(ARRAY_SIZE(mkvm_vcpu_stats) <= MKVM_STATS_MAX);

/* An open stats fd: what read() returns before the data, built once. */
struct mkvm_stats_file {
	struct mkvm_vm *vm;		/* a reference, put at release */
	struct mkvm_vcpu *vcpu;		/* NULL for the VM's statistics */
	u32 nr;				/* statistics, one u64 each */
	size_t head_size;		/* header, id and descriptors */
	u8 head[];
};

static void mkvm_vm_stats_fill(struct mkvm_vm *vm, u64 *data)
{
	u64 pages, resident, huge = READ_ONCE(vm->npt_huge);

	mkvm_vm_mem_usage(vm, &pages, &resident);
	/* Read apart from resident: never below 0 while a fault runs. */
	data[MKVM_VM_PAGES_4K] = resident - min(resident, huge * PTRS_PER_PMD);
	data[MKVM_VM_PAGES_2M] = huge;
	data[MKVM_VM_MEMSLOT_PAGES] = pages;
	data[MKVM_VM_PT_PAGES] = READ_ONCE(vm->npt_pages);
	data[MKVM_VM_VCPUS] = atomic_read(&vm->nr_vcpus);
}

static void mkvm_vcpu_stats_fill(struct mkvm_vcpu *vcpu, u64 *data)
{
	const struct mkvm_stat *st = mkvm_vcpu_stats;
	int i;

	for (i = 0; i < ARRAY_SIZE(mkvm_vcpu_stats); i++) {
		void *p = (u8 *)vcpu + st[i].offset;

		data[i] = st[i].atomic ? atomic64_read(p) : READ_ONCE(*(u64 *)p);
	}
}

/*
 * read() and pread() at any offset and of any length, as KVM's
 * kvm_stats_read(): the file is the header, id and descriptors built at
 * open, then the values of the moment; past its end, 0.
 */
static ssize_t mkvm_stats_read(struct file *file, char __user *buf,
			       size_t size, loff_t *off)
{
	struct mkvm_stats_file *sf = file->private_data;
	size_t end = sf->head_size + sf->nr * sizeof(u64);
	u64 data[MKVM_STATS_MAX];
	loff_t pos = *off;
	size_t len, n = 0;

	if (pos < 0 || pos >= end)
		return 0;
	len = min_t(size_t, size, end - pos);
	if (pos < sf->head_size) {
		n = min_t(size_t, len, sf->head_size - pos);
		if (copy_to_user(buf, sf->head + pos, n))
			return -EFAULT;
	}
	if (n < len) {
		if (sf->vcpu)
			mkvm_vcpu_stats_fill(sf->vcpu, data);
		else
			mkvm_vm_stats_fill(sf->vm, data);
		if (copy_to_user(buf + n, (u8 *)data + pos + n - sf->head_size,
				 len - n))
			return -EFAULT;
	}
	*off = pos + len;
	return len;
}

static int mkvm_stats_release(struct inode *inode, struct file *file)
{
	struct mkvm_stats_file *sf = file->private_data;

	mkvm_vm_put(sf->vm);
	kfree(sf);
	return 0;
}

/* No llseek of its own: as KVM's, lseek() leaves the position alone. */
static const struct file_operations mkvm_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= mkvm_stats_read,
	.release	= mkvm_stats_release,
	.llseek		= noop_llseek,
};

/* The header, the id and the descriptors of @nr statistics @st. */
static struct mkvm_stats_file *mkvm_stats_alloc(const struct mkvm_stat *st,
						u32 nr, const char *id)
{
	/*
	 * The name follows the fixed fields: since 6.8 the kernel's own
	 * struct kvm_stats_desc holds the name array, userspace's does not.
	 */
	size_t desc_size = offsetof(struct kvm_stats_desc, name) +
			   MKVM_STATS_NAME_SIZE;
	struct kvm_stats_header *h;
	struct mkvm_stats_file *sf;
	struct kvm_stats_desc *d;
	size_t size;
	u32 i;

	size = sizeof(*h) + MKVM_STATS_NAME_SIZE + nr * desc_size;
	sf = kzalloc(struct_size(sf, head, size), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return NULL;
	sf->nr = nr;
	sf->head_size = size;

	h = (struct kvm_stats_header *)sf->head;
	h->name_size = MKVM_STATS_NAME_SIZE;
	h->num_desc = nr;
	h->id_offset = sizeof(*h);
	h->desc_offset = h->id_offset + MKVM_STATS_NAME_SIZE;
	h->data_offset = h->desc_offset + nr * desc_size;
	strscpy(sf->head + h->id_offset, id, MKVM_STATS_NAME_SIZE);
	for (i = 0; i < nr; i++) {
		d = (struct kvm_stats_desc *)(sf->head + h->desc_offset +
					      i * desc_size);
		d->flags = st[i].flags;
		d->exponent = st[i].exponent;
		d->size = 1;
		d->offset = i * sizeof(u64);
		strscpy(d->name, st[i].name, MKVM_STATS_NAME_SIZE);
	}
	return sf;
}

/* A read-only fd on @sf, which then holds a reference on @sf->vm. */
static int mkvm_stats_fd(struct mkvm_stats_file *sf, const char *name)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto free;
	file = anon_inode_getfile(name, &mkvm_stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto free;
	}
	mkvm_vm_get(sf->vm);
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;

free:
	kfree(sf);
	return fd;
}

/* KVM_GET_STATS_FD on a VM fd: id "kvm-<pid>", as KVM's. */
int mkvm_vm_stats_fd(struct mkvm_vm *vm)
{
	char id[MKVM_STATS_NAME_SIZE];
	struct mkvm_stats_file *sf;

	snprintf(id, sizeof(id), "kvm-%d", vm->pid);
	sf = mkvm_stats_alloc(mkvm_vm_stats, ARRAY_SIZE(mkvm_vm_stats), id);
	if (!sf)
		return -ENOMEM;
	sf->vm = vm;
	return mkvm_stats_fd(sf, "minikvm-vm-stats");
}

/* KVM_GET_STATS_FD on a vCPU fd: id "kvm-<pid>/vcpu-<id>". */
int mkvm_vcpu_stats_fd(struct mkvm_vcpu *vcpu)
{
	char id[MKVM_STATS_NAME_SIZE];
	struct mkvm_stats_file *sf;

	snprintf(id, sizeof(id), "kvm-%d/vcpu-%u", vcpu->vm->pid, vcpu->id);
	sf = mkvm_stats_alloc(mkvm_vcpu_stats, ARRAY_SIZE(mkvm_vcpu_stats), id);
	if (!sf)
		return -ENOMEM;
	sf->vm = vcpu->vm;
	sf->vcpu = vcpu;
	return mkvm_stats_fd(sf, "minikvm-vcpu-stats");
}
