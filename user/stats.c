// SPDX-License-Identifier: GPL-2.0
/*
 * vmrun's own VM as the "minikvm" generic netlink family reports it
 * (see vmctl(8), Documentation/netlink.rst): read just before the VM is
 * closed and printed on stderr, so the user can right-size the guest.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "nl.h"
#include "vmrun.h"

struct newest {
	bool found;
	struct mkvm_nl_vm vm;
};

/* The newest VM this process created (the dump is all visible VMs). */
static int pick(const struct mkvm_nl_vm *vm, void *arg)
{
	struct newest *n = arg;

	if (vm->pid != (uint32_t)getpid() || (n->found && vm->id < n->vm.id))
		return NL_SKIP;
	n->found = true;
	n->vm = *vm;
	return NL_OK;
}

static int read_stats(struct mkvm_nl_vm *vm)
{
	struct newest n = { false };
	struct mkvm_nl nl;
	int r;

	if (mkvm_nl_open(&nl))
		return -1;
	r = mkvm_nl_dump(&nl, MINIKVM_CMD_GET_VM, -1, pick, &n);
	mkvm_nl_close(&nl);
	if (r || !n.found)
		return -1;
	*vm = n.vm;
	return 0;
}

/*
 * Sizes as vmrun --stats has always printed them: not vmctl's
 * human_bytes(), which says "2M" for this "2.0M" and "512B" for "0K".
 */
static const char *size_str(uint64_t b, char *buf, size_t n)
{
	if (b >= (1ULL << 30) && !(b & ((1ULL << 20) - 1)))
		snprintf(buf, n, "%.1fG", b / (double)(1ULL << 30));
	else if (b >= (1ULL << 20))
		snprintf(buf, n, "%.1fM", b / (double)(1ULL << 20));
	else
		snprintf(buf, n, "%lluK", (unsigned long long)b >> 10);
	return buf;
}

/*
 * Print the VM's accounting on stderr (vmrun --stats): one line, and
 * with @detail every exit reason and the page-table memory.  Nothing
 * when the device is not /dev/minikvm (KVM has no such family).
 */
void vm_print_stats(struct vm *vm, bool detail)
{
	const char *name = vm->cfg->name;
	struct mkvm_nl_vm s;
	char a[32], b[32], c[32];
	int i;

	if (strcmp(vm->cfg->device, MINIKVM_DEVICE_PATH) || read_stats(&s))
		return;
	fprintf(stderr, "vmrun: %s: stats: guest time %.3fs, %llu exits "
		"(io %llu, mmio %llu, hlt %llu), resident %s of %s (%.0f%%)\n",
		name, s.st.guest_ns / 1e9, (unsigned long long)s.st.exits_total,
		(unsigned long long)s.st.exits[MINIKVM_STAT_IO],
		(unsigned long long)s.st.exits[MINIKVM_STAT_MMIO],
		(unsigned long long)s.st.exits[MINIKVM_STAT_HLT],
		size_str(s.resident, a, sizeof(a)), size_str(s.mem, b, sizeof(b)),
		s.mem ? 100.0 * s.resident / s.mem : 0.0);
	if (!detail)
		return;
	fprintf(stderr, "vmrun: %s: stats: vm id %u, %u vCPUs, exit handling "
		"%.3fs, %llu exits to vmrun, page tables %s\n", name, s.id,
		s.nr_vcpus, s.st.exit_ns / 1e9,
		(unsigned long long)s.st.user_exits,
		size_str(s.pt, c, sizeof(c)));
	fprintf(stderr, "vmrun: %s: stats: exits by reason:", name);
	for (i = 0; i < __MINIKVM_STAT_MAX; i++)
		fprintf(stderr, " %s %llu", mkvm_stat_name[i],
			(unsigned long long)s.st.exits[i]);
	fprintf(stderr, "\n");
}
