// SPDX-License-Identifier: GPL-2.0
/*
 * vmctl: what each minikvm VM uses, read from the "minikvm" generic
 * netlink family (see include/uapi/linux/minikvm.h, Documentation/vmctl.8).
 *
 *   vmctl [--json] list          vmctl [--json] stat ID|NAME
 *   vmctl watch                  vmctl top [SECONDS]
 *   vmctl check
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <netlink/genl/ctrl.h>
#include "nl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const state_name[] = {
	[MINIKVM_VM_CREATED] = "created", [MINIKVM_VM_RUNNING] = "running",
	[MINIKVM_VM_STOPPED] = "stopped", [MINIKVM_VM_SHUTDOWN] = "shutdown",
};

static const char *const event_name[] = {
	[MINIKVM_EVENT_VM_CREATED] = "vm-created",
	[MINIKVM_EVENT_VM_DESTROYED] = "vm-destroyed",
	[MINIKVM_EVENT_VCPU_SHUTDOWN] = "vcpu-shutdown",
	[MINIKVM_EVENT_VCPU_FAIL_ENTRY] = "vcpu-fail-entry",
};

struct vms {
	struct mkvm_nl_vm *v;
	size_t n;
};

static bool json;

/* ---- netlink ------------------------------------------------------------ */

static struct mkvm_nl *connect_family(void)
{
	static struct mkvm_nl nl;

	switch (mkvm_nl_open(&nl)) {
	case MKVM_NL_NO_SOCKET:
		fprintf(stderr, "vmctl: cannot open a generic netlink socket\n");
		exit(1);
	case MKVM_NL_NO_FAMILY:
		fprintf(stderr, "vmctl: no \"%s\" generic netlink family: "
			"minikvm module not loaded? (modprobe minikvm)\n",
			MINIKVM_GENL_NAME);
		exit(1);
	}
	return &nl;
}

static int collect(const struct mkvm_nl_vm *vm, void *arg)
{
	struct vms *vms = arg;
	struct mkvm_nl_vm *v;

	v = realloc(vms->v, (vms->n + 1) * sizeof(*v));
	if (!v)
		return NL_STOP;
	vms->v = v;
	v[vms->n++] = *vm;
	return NL_OK;
}

/* Dump @cmd (GET_VCPUS of VM @id, or GET_VM with -1), collect the replies. */
static int request(struct mkvm_nl *nl, int cmd, int64_t id, struct vms *out)
{
	out->v = NULL;
	out->n = 0;
	return mkvm_nl_dump(nl, cmd, id, collect, out);
}

static void dump_vms(struct mkvm_nl *nl, struct vms *vms)
{
	int r = request(nl, MINIKVM_CMD_GET_VM, -1, vms);

	if (r) {
		fprintf(stderr, "vmctl: listing VMs: %s\n", nl_geterror(r));
		exit(1);
	}
}

/* ---- formatting --------------------------------------------------------- */

static const char *human_bytes(uint64_t b, char *buf, size_t n)
{
	static const char unit[] = "BKMGTP";
	double v = b;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%lluB", (unsigned long long)b);
	else
		snprintf(buf, n, v < 10 && v != (int)v ? "%.1f%c" : "%.0f%c",
			 v, unit[u]);
	return buf;
}

static const char *human_ns(uint64_t ns, char *buf, size_t n)
{
	uint64_t s = ns / 1000000000ull;

	if (ns < 1000000ull)
		snprintf(buf, n, "%lluus", (unsigned long long)(ns / 1000));
	else if (ns < 1000000000ull)
		snprintf(buf, n, "%llums", (unsigned long long)(ns / 1000000));
	else if (s < 60)
		snprintf(buf, n, "%.2fs", ns / 1e9);
	else if (s < 3600)
		snprintf(buf, n, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
	else
		snprintf(buf, n, "%llud%02lluh", (unsigned long long)s / 86400,
			 (unsigned long long)s / 3600 % 24);
	return buf;
}

static const char *human_count(uint64_t c, char *buf, size_t n)
{
	if (c < 100000)
		snprintf(buf, n, "%llu", (unsigned long long)c);
	else if (c < 100000000ull)
		snprintf(buf, n, "%.1fK", c / 1e3);
	else
		snprintf(buf, n, "%.1fM", c / 1e6);
	return buf;
}

static uint64_t now_boottime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static const char *state_str(uint32_t s)
{
	return s < ARRAY_SIZE(state_name) ? state_name[s] : "?";
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_stats(const struct mkvm_nl_stats *st)
{
	int i;

	printf("\"exits_total\": %llu, \"user_exits\": %llu, "
	       "\"guest_ns\": %llu, \"exit_ns\": %llu, \"injections\": %llu, "
	       "\"halts\": %llu, \"halt_ns\": %llu, \"irqs\": {\"timer\": %llu, "
	       "\"ipi\": %llu, \"line\": %llu, \"msi\": %llu}, "
	       "\"exits\": {",
	       (unsigned long long)st->exits_total,
	       (unsigned long long)st->user_exits,
	       (unsigned long long)st->guest_ns,
	       (unsigned long long)st->exit_ns,
	       (unsigned long long)st->injections,
	       (unsigned long long)st->halts,
	       (unsigned long long)st->halt_ns,
	       (unsigned long long)st->irq_timer,
	       (unsigned long long)st->irq_ipi,
	       (unsigned long long)st->irq_line,
	       (unsigned long long)st->irq_msi);
	for (i = 0; i < __MINIKVM_STAT_MAX; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", mkvm_stat_name[i],
		       (unsigned long long)st->exits[i]);
	printf("}");
}

static void json_vm(const struct mkvm_nl_vm *v, uint64_t now)
{
	printf("{\"id\": %u, \"name\": ", v->id);
	json_str(v->name);
	printf(", \"pid\": %u, \"uid\": %u, \"state\": \"%s\", \"vcpus\": %u, "
	       "\"memory_bytes\": %llu, \"resident_bytes\": %llu, "
	       "\"pt_bytes\": %llu, \"created_ns\": %llu, \"uptime_ns\": %llu, ",
	       v->pid, v->uid, state_str(v->state), v->nr_vcpus,
	       (unsigned long long)v->mem, (unsigned long long)v->resident,
	       (unsigned long long)v->pt, (unsigned long long)v->created_ns,
	       (unsigned long long)(now > v->created_ns ? now - v->created_ns : 0));
	json_stats(&v->st);
	printf("}");
}

/* ---- commands ----------------------------------------------------------- */

static int cmd_list(struct mkvm_nl *nl)
{
	uint64_t now;
	struct vms vms;
	size_t i;
	char a[32], b[32], c[32], d[32], e[32];

	dump_vms(nl, &vms);
	now = now_boottime();
	if (json) {
		printf("[");
		for (i = 0; i < vms.n; i++) {
			printf(i ? ",\n " : "");
			json_vm(&vms.v[i], now);
		}
		printf("]\n");
		return 0;
	}
	printf("%4s  %-16s %7s %5s %7s %8s %-8s %8s %8s %8s\n", "ID", "NAME",
	       "PID", "VCPUS", "MEMORY", "RESIDENT", "STATE", "UPTIME", "CPU",
	       "EXITS");
	for (i = 0; i < vms.n; i++) {
		struct mkvm_nl_vm *v = &vms.v[i];

		printf("%4u  %-16s %7u %5u %7s %8s %-8s %8s %8s %8s\n", v->id,
		       v->name, v->pid, v->nr_vcpus,
		       human_bytes(v->mem, a, sizeof(a)),
		       human_bytes(v->resident, b, sizeof(b)),
		       state_str(v->state),
		       human_ns(now > v->created_ns ? now - v->created_ns : 0,
				c, sizeof(c)),
		       human_ns(v->st.guest_ns, d, sizeof(d)),
		       human_count(v->st.exits_total, e, sizeof(e)));
	}
	free(vms.v);
	return 0;
}

/* The VM called @what (an id or a name); exits if none. */
static struct mkvm_nl_vm find_vm(struct mkvm_nl *nl, const char *what)
{
	struct vms vms;
	struct mkvm_nl_vm found;
	char *end;
	unsigned long id;
	size_t i;
	int hits = 0;

	dump_vms(nl, &vms);
	id = strtoul(what, &end, 10);
	for (i = 0; i < vms.n; i++)
		if (*what && !*end && vms.v[i].id == id) {
			found = vms.v[i];
			free(vms.v);
			return found;
		}
	for (i = 0; i < vms.n; i++)
		if (!strcmp(vms.v[i].name, what)) {
			if (!hits++)
				found = vms.v[i];
		}
	free(vms.v);
	if (!hits) {
		fprintf(stderr, "vmctl: no VM %s (or not yours)\n", what);
		exit(1);
	}
	if (hits > 1)
		fprintf(stderr, "vmctl: %d VMs are named %s; showing id %u\n",
			hits, what, found.id);
	return found;
}

static int cmd_stat(struct mkvm_nl *nl, const char *what)
{
	struct mkvm_nl_vm v = find_vm(nl, what);
	uint64_t now = now_boottime();
	struct vms vcpus;
	char a[32], b[32], c[32];
	size_t i;
	int j, r;

	r = request(nl, MINIKVM_CMD_GET_VCPUS, v.id, &vcpus);
	if (r) {
		fprintf(stderr, "vmctl: vCPUs of VM %u: %s\n", v.id,
			nl_geterror(r));
		return 1;
	}
	if (json) {
		printf("{\"vm\": ");
		json_vm(&v, now);
		printf(",\n \"vcpus\": [");
		for (i = 0; i < vcpus.n; i++) {
			printf("%s{\"vcpu\": %u, ", i ? ",\n  " : "",
			       vcpus.v[i].vcpu_id);
			json_stats(&vcpus.v[i].st);
			printf("}");
		}
		printf("]}\n");
		free(vcpus.v);
		return 0;
	}
	printf("VM %u: %s\n", v.id, v.name);
	printf("  owner:     pid %u, uid %u\n", v.pid, v.uid);
	printf("  state:     %s, up %s\n", state_str(v.state),
	       human_ns(now > v.created_ns ? now - v.created_ns : 0, a,
			sizeof(a)));
	printf("  vcpus:     %u\n", v.nr_vcpus);
	printf("  memory:    %s configured, %s resident (%.1f%%), "
	       "%s page tables\n",
	       human_bytes(v.mem, a, sizeof(a)),
	       human_bytes(v.resident, b, sizeof(b)),
	       v.mem ? 100.0 * v.resident / v.mem : 0.0,
	       human_bytes(v.pt, c, sizeof(c)));
	printf("  guest time: %s, exit handling: %s\n",
	       human_ns(v.st.guest_ns, a, sizeof(a)),
	       human_ns(v.st.exit_ns, b, sizeof(b)));
	printf("  exits:     %llu (to userspace %llu), injections %llu\n",
	       (unsigned long long)v.st.exits_total,
	       (unsigned long long)v.st.user_exits,
	       (unsigned long long)v.st.injections);
	printf("  halted:    %llu times, %s; interrupts: timer %llu, ipi %llu, "
	       "line %llu, msi %llu\n",
	       (unsigned long long)v.st.halts,
	       human_ns(v.st.halt_ns, a, sizeof(a)),
	       (unsigned long long)v.st.irq_timer,
	       (unsigned long long)v.st.irq_ipi,
	       (unsigned long long)v.st.irq_line,
	       (unsigned long long)v.st.irq_msi);
	printf("\n  %-12s %12s", "EXIT", "TOTAL");
	for (i = 0; i < vcpus.n; i++)
		printf(" %10s%-2u", "vcpu", vcpus.v[i].vcpu_id);
	printf("\n");
	for (j = 0; j < __MINIKVM_STAT_MAX; j++) {
		printf("  %-12s %12llu", mkvm_stat_name[j],
		       (unsigned long long)v.st.exits[j]);
		for (i = 0; i < vcpus.n; i++)
			printf(" %12llu",
			       (unsigned long long)vcpus.v[i].st.exits[j]);
		printf("\n");
	}
	if (vcpus.n) {
		printf("\n  %-6s %12s %12s %12s %12s %12s %8s %12s\n", "VCPU",
		       "EXITS", "USER_EXITS", "GUEST", "EXIT_TIME", "INJECTIONS",
		       "HALTS", "HALTED");
		for (i = 0; i < vcpus.n; i++) {
			struct mkvm_nl_stats *s = &vcpus.v[i].st;

			printf("  %-6u %12llu %12llu %12s %12s %12llu %8llu %12s\n",
			       vcpus.v[i].vcpu_id,
			       (unsigned long long)s->exits_total,
			       (unsigned long long)s->user_exits,
			       human_ns(s->guest_ns, a, sizeof(a)),
			       human_ns(s->exit_ns, b, sizeof(b)),
			       (unsigned long long)s->injections,
			       (unsigned long long)s->halts,
			       human_ns(s->halt_ns, c, sizeof(c)));
		}
	}
	free(vcpus.v);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int print_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MINIKVM_A_MAX + 1];
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	uint32_t ev;
	struct timespec ts;
	struct tm tm;
	char t[32];

	if (g->cmd != MINIKVM_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, MINIKVM_A_MAX, NULL))
		return NL_SKIP;
	ev = mkvm_nl_u32(tb, MINIKVM_A_EVENT);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	if (json) {
		printf("{\"time\": %lld.%03ld, \"event\": \"%s\", \"id\": %u, "
		       "\"pid\": %u, \"uid\": %u",
		       (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		       ev < ARRAY_SIZE(event_name) && event_name[ev] ?
		       event_name[ev] : "unknown",
		       mkvm_nl_u32(tb, MINIKVM_A_VM_ID),
		       mkvm_nl_u32(tb, MINIKVM_A_VM_PID),
		       mkvm_nl_u32(tb, MINIKVM_A_VM_UID));
		if (tb[MINIKVM_A_VCPU_ID])
			printf(", \"vcpu\": %u", mkvm_nl_u32(tb, MINIKVM_A_VCPU_ID));
		printf("}\n");
	} else {
		printf("%s.%03ld %-16s vm %u pid %u uid %u", t,
		       ts.tv_nsec / 1000000,
		       ev < ARRAY_SIZE(event_name) && event_name[ev] ?
		       event_name[ev] : "unknown",
		       mkvm_nl_u32(tb, MINIKVM_A_VM_ID),
		       mkvm_nl_u32(tb, MINIKVM_A_VM_PID),
		       mkvm_nl_u32(tb, MINIKVM_A_VM_UID));
		if (tb[MINIKVM_A_VCPU_ID])
			printf(" vcpu %u", mkvm_nl_u32(tb, MINIKVM_A_VCPU_ID));
		printf("\n");
	}
	fflush(stdout);
	return NL_OK;
}

static int cmd_watch(struct mkvm_nl *nl)
{
	struct nl_sock *sk = nl->sk;
	struct sigaction sa = { .sa_handler = on_signal };
	int grp = genl_ctrl_resolve_grp(sk, MINIKVM_GENL_NAME,
					MINIKVM_GENL_MCGRP);
	int r;

	if (grp < 0) {
		fprintf(stderr, "vmctl: no \"%s\" group: %s\n",
			MINIKVM_GENL_MCGRP, nl_geterror(grp));
		return 1;
	}
	r = nl_socket_add_membership(sk, grp);
	if (r) {
		fprintf(stderr, "vmctl: joining \"%s\": %s\n",
			MINIKVM_GENL_MCGRP, nl_geterror(r));
		return 1;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, print_event, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!json)
		printf("watching minikvm events (Ctrl-C to stop)\n");
	fflush(stdout);
	while (!stop) {
		/* libnl retries reads on EINTR: wait here, where signals stop us. */
		struct pollfd pfd = { nl_socket_get_fd(sk), POLLIN, 0 };

		if (poll(&pfd, 1, -1) <= 0)
			continue;
		r = nl_recvmsgs_default(sk);
		if (r < 0 && r != -NLE_INTR && !stop) {
			fprintf(stderr, "vmctl: %s\n", nl_geterror(r));
			return 1;
		}
	}
	return 0;
}

static int cmd_top(struct mkvm_nl *nl, double interval)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct vms prev = { 0 }, cur;
	uint64_t tprev = 0, tnow;
	size_t i, j;
	char a[32], b[32];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		struct timespec ts = {
			(time_t)interval,
			(long)((interval - (time_t)interval) * 1e9)
		};

		dump_vms(nl, &cur);
		tnow = now_boottime();
		if (isatty(1))
			printf("\033[H\033[2J");
		printf("vmctl top: %zu VM(s), every %.1fs (Ctrl-C to stop)\n\n",
		       cur.n, interval);
		printf("%4s  %-16s %5s %8s %8s %7s %10s %9s %9s %9s\n", "ID",
		       "NAME", "VCPUS", "MEMORY", "RESIDENT", "CPU%", "EXITS/s",
		       "IO/s", "MMIO/s", "NPF/s");
		for (i = 0; i < cur.n; i++) {
			struct mkvm_nl_vm *v = &cur.v[i], *p = NULL;
			double dt = (tnow - tprev) / 1e9, cpu = 0;
			double ex = 0, io = 0, mmio = 0, npf = 0;

			for (j = 0; j < prev.n; j++)
				if (prev.v[j].id == v->id)
					p = &prev.v[j];
			if (p && dt > 0) {
				cpu = (v->st.guest_ns - p->st.guest_ns) /
				      (dt * 1e9) * 100;
				ex = (v->st.exits_total - p->st.exits_total) / dt;
				io = (v->st.exits[MINIKVM_STAT_IO] -
				      p->st.exits[MINIKVM_STAT_IO]) / dt;
				mmio = (v->st.exits[MINIKVM_STAT_MMIO] -
					p->st.exits[MINIKVM_STAT_MMIO]) / dt;
				npf = (v->st.exits[MINIKVM_STAT_NPF] -
				       p->st.exits[MINIKVM_STAT_NPF]) / dt;
			}
			printf("%4u  %-16s %5u %8s %8s %6.1f%% %10.0f %9.0f "
			       "%9.0f %9.0f\n", v->id, v->name, v->nr_vcpus,
			       human_bytes(v->mem, a, sizeof(a)),
			       human_bytes(v->resident, b, sizeof(b)),
			       cpu, ex, io, mmio, npf);
		}
		fflush(stdout);
		free(prev.v);
		prev = cur;
		tprev = tnow;
		nanosleep(&ts, NULL);
	}
	free(prev.v);
	return 0;
}

/* ---- check -------------------------------------------------------------- */

static bool has_flag(const char *flags, const char *f)
{
	size_t n = strlen(f);
	const char *p = flags;

	while ((p = strstr(p, f))) {
		if ((p == flags || isspace((unsigned char)p[-1])) &&
		    (!p[n] || isspace((unsigned char)p[n])))
			return true;
		p += n;
	}
	return false;
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static int cmd_check(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192], vendor[64] = "unknown", flags[8192] = "";
	char vmx_flags[4096] = "";
	bool svm, vmx, npt, ept, ug, mod, dev, ok = true, vendor_kvm = false;
	struct stat st;
	static const char *const in_the_way[] = { "kvm_amd", "kvm_intel", "kvm" };
	size_t i;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "vendor_id", 9) && strchr(line, ':'))
				sscanf(strchr(line, ':') + 1, "%63s", vendor);
			else if (!strncmp(line, "flags", 5) && !*flags &&
				 strchr(line, ':'))
				snprintf(flags, sizeof(flags), "%s",
					 strchr(line, ':') + 1);
			else if (!strncmp(line, "vmx flags", 9) && !*vmx_flags &&
				 strchr(line, ':'))
				snprintf(vmx_flags, sizeof(vmx_flags), "%s",
					 strchr(line, ':') + 1);
		}
		fclose(f);
	}
	svm = has_flag(flags, "svm");
	vmx = has_flag(flags, "vmx");
	npt = has_flag(flags, "npt");
	ept = has_flag(flags, "ept");
	printf("CPU vendor:        %s\n", vendor);
	if (svm) {
		printf("virtualization:    AMD SVM: yes\n");
		printf("nested paging:     NPT: %s\n", npt ? "yes" : "no");
		if (!npt)
			ok = false;
	} else if (vmx) {
		printf("virtualization:    Intel VMX: yes\n");
		printf("nested paging:     EPT: %s\n", ept ? "yes" : "no");
		/* Kernels since 5.8 list the VMX features on their own line. */
		ug = !*vmx_flags || has_flag(vmx_flags, "unrestricted_guest");
		printf("unrestricted guest: %s\n", !*vmx_flags ? "unknown" :
		       ug ? "yes" : "no");
		if (!ept || !ug)
			ok = false;
	} else {
		printf("virtualization:    no svm/vmx flag in /proc/cpuinfo "
		       "(no hardware support, or disabled in the firmware "
		       "setup, or not exposed to this VM)\n");
		ok = false;
	}
	mod = exists("/sys/module/minikvm");
	printf("minikvm module:    %s\n", mod ? "loaded" :
	       "not loaded (modprobe minikvm)");
	if (!mod)
		ok = false;
	dev = !stat(MINIKVM_DEVICE_PATH, &st);
	if (dev) {
		bool rw = !access(MINIKVM_DEVICE_PATH, R_OK | W_OK);

		printf("%-19s%s, mode %04o, uid %u gid %u; %s\n",
		       MINIKVM_DEVICE_PATH ":", S_ISCHR(st.st_mode) ?
		       "character device" : "NOT a character device",
		       st.st_mode & 07777, st.st_uid, st.st_gid,
		       rw ? "you can open it read-write" :
		       "you cannot open it read-write (add yourself to its group)");
		if (!rw || !S_ISCHR(st.st_mode))
			ok = false;
	} else {
		printf("%-19smissing%s\n", MINIKVM_DEVICE_PATH ":",
		       mod ? " (udev rule kmod/60-minikvm.rules?)" : "");
		ok = false;
	}
	for (i = 0; i < ARRAY_SIZE(in_the_way); i++) {
		char p[64];

		snprintf(p, sizeof(p), "/sys/module/%s", in_the_way[i]);
		if (!exists(p))
			continue;
		ok = false;
		if (strcmp(in_the_way[i], "kvm")) {
			printf("in the way:        %s is loaded; it holds the "
			       "virtualization extensions (rmmod %s)\n",
			       in_the_way[i], in_the_way[i]);
			vendor_kvm = true;
		} else {
			/* Even alone: see "Exclusion with KVM" in api.rst. */
			printf("in the way:        kvm is loaded; creating a "
			       "VM fails with EBUSY until it is unloaded "
			       "(rmmod kvm%s)\n",
			       vendor_kvm ? ", after kvm_amd/kvm_intel" : "");
		}
	}
	printf("verdict:           %s\n", ok ? "usable: this host can run "
	       "minikvm guests" : "NOT usable: see above");
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmctl [--json] list\n"
		"       vmctl [--json] stat ID|NAME\n"
		"       vmctl [--json] watch\n"
		"       vmctl top [SECONDS]\n"
		"       vmctl check\n"
		"See vmctl(8).\n");
}

/* A bad command line: say what is wrong, then how to use vmctl. */
static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* top's refresh interval: seconds, from 0.1 to 3600; -1 if not that. */
static double parse_interval(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1 && v <= 3600))
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd, *arg = NULL;
	double interval = 1.0;
	int i = 1, nargs = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			return bad_usage("unknown option %s", argv[i]);
		}
	}
	cmd = i < argc ? argv[i++] : "list";
	/* After the command: --json anywhere, and at most one operand. */
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (argv[i][0] == '-' && argv[i][1] && !isdigit((unsigned char)argv[i][1]))
			return bad_usage("unknown option %s", argv[i]);
		else if (nargs++)
			return bad_usage("unexpected argument %s", argv[i]);
		else
			arg = argv[i];
	}
	if (!strcmp(cmd, "stat") || !strcmp(cmd, "status")) {
		if (!arg)
			return bad_usage("%s needs a VM id or name", cmd);
		return cmd_stat(connect_family(), arg);
	}
	if (!strcmp(cmd, "top")) {
		if (arg) {
			interval = parse_interval(arg);
			if (interval < 0)
				return bad_usage("top: bad interval %s (seconds, 0.1 to 3600)", arg);
		}
		return cmd_top(connect_family(), interval);
	}
	if (arg)
		return bad_usage("unexpected argument %s", arg);
	if (!strcmp(cmd, "check"))
		return cmd_check();
	if (!strcmp(cmd, "list") || !strcmp(cmd, "ls"))
		return cmd_list(connect_family());
	if (!strcmp(cmd, "watch"))
		return cmd_watch(connect_family());
	return bad_usage("unknown command %s", cmd);
}
