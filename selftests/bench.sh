#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: minikvm against KVM in the same test VM.  Boots the SVM
# test VM (QEMU TCG; SUITES=vmx: Bochs, whose times are not comparable
# with anything but each other), where /mkvm/bench (selftests/bench/
# bench.c) runs its rounds alternately on /dev/minikvm and on KVM's
# /dev/kvm (guest-run.sh, mkvm.mode=bench), then prints for each metric
#
#   BENCH <metric> minikvm=<median> kvm=<median> ratio=<minikvm/kvm> <unit>
#         minikvm_p90=<p90> kvm_p90=<p90> rounds=<n> paired_ratio=<median>
#
# on one line (paired_ratio: the median of each round's own ratio), and
# a table.  The test VM's CPU is emulated: only the
# ratios mean anything (Documentation/performance.rst).  Not part of
# make check.
# Usage: selftests/bench.sh [svm-6.1|vmx]; BENCH_ROUNDS (default 10),
# BENCH_METRICS (comma-separated, default all), MKVM_APPEND as make check.
set -u
cd "$(dirname "$0")/.."
B=$PWD/build
. selftests/lib.sh

suite=${1:-svm-6.1}
case $suite in
svm*) vmm=qemu-svm vendor=kvm_amd suite=svm-6.1 ;;
vmx) vmm=bochs-vmx vendor=kvm_intel ;;
*) echo "bench: unknown suite '$suite' (have: svm-6.1 vmx)" >&2; exit 2 ;;
esac
rounds=${BENCH_ROUNDS:-10}
case $rounds in [1-9]|[1-9][0-9]) ;; *)
	echo "bench: BENCH_ROUNDS must be 1 to 99, not '$rounds'" >&2; exit 2 ;;
esac
metrics=${BENCH_METRICS:-}

mkvm_install_deps || exit 1
kver=$(mkvm_kernel 6.1)
[ -n "$kver" ] || { echo "bench: the Debian 6.1 kernel is not installed" >&2; exit 1; }
# The examples: linux_boot boots examples/linux.cfg with the 6.1 kernel.
make -s tools examples selftests "$B/bench/bench" GUEST_KERNEL=/boot/vmlinuz-$kver ||
	{ echo "bench: build failed" >&2; exit 1; }
# With the cost counters (kmod/cost.h): a few per-CPU additions per exit.
MKVM_COSTS=1 mkvm_build_module "$kver" || { echo "bench: building minikvm.ko for $kver failed" >&2; exit 1; }
MKVM_BENCH=$B/bench/bench mkvm_make_initramfs bench "$kver" ||
	{ echo "bench: building the initramfs failed (see $B/bench.mkinitramfs.log)" >&2; exit 1; }

log=$B/bench-$suite.log
echo "# bench: $suite ($vmm), $rounds rounds, log $log"

# The stall guard.  bench prints "BENCH-START <metric> <device> <limit>"
# before each metric and ends itself past the limit (guest seconds);
# guest-run.sh prints "BENCH-TIME <metric> ..." once its process is gone.
# A metric with no BENCH-TIME after 60 s beyond its limit is stuck in the
# kernel (kvm_amd in the test VM has held ipi_rtt there for over 10
# minutes), or in its process's exit; outside a metric (the boot, module
# loads), 300 s with no new BENCH- line is a stall.  Under Bochs a guest
# second takes about half a minute: its limits are 40 times as long.
# Stop the test VM (boot.sh kills its emulator on TERM) and write
# "<metric> <device>" ("- -" outside a metric) to $3.
case $vmm in bochs*) slow=40 ;; *) slow=1 ;; esac
bench_watch() { # log pid stall-file
	local last='' since=$SECONDS line limit lim
	while kill -0 "$2" 2>/dev/null; do
		sleep 5
		# With its line number: the same metric starts again next round.
		line=$(tr -d '\r' <"$1" 2>/dev/null | grep -an '^BENCH-' |
			grep -a -E '^[0-9]+:BENCH-(START|TIME|ROUND|SKIP) ' | tail -n 1)
		if [ "$line" != "$last" ]; then
			last=$line since=$SECONDS
			continue
		fi
		# Nothing yet (the boot) is outside a metric.  No globbing of
		# the words, and a limit that is not a number (console noise
		# inside the line) counts as 0.
		set -f
		set -- "$1" "$2" "$3" $line
		set +f
		lim=${7:-0}
		case $lim in '' | *[!0-9]*) lim=0 ;; esac
		case ${4:-} in
		*:BENCH-START) limit=$((lim * slow + 60)) ;;
		*) limit=$((300 * slow)) ;;
		esac
		# Under boot.sh's own limit (3600 s), or it would never act.
		[ $limit -le 3000 ] || limit=3000
		if [ $((SECONDS - since)) -ge $limit ]; then
			case ${4:-} in
			*:BENCH-START) echo "${5:-} ${6:-} $limit" >"$3" ;;
			*) echo "- - $limit" >"$3" ;;
			esac
			kill -TERM "$2" 2>/dev/null
			return 0
		fi
	done
	return 1
}

# A stall on KVM: go on in a new test VM from the next round, without
# that metric on KVM and with the failures KVM had so far (each metric is
# tried there until its second failure).  A stall on minikvm or outside
# a metric ends the bench with a failure (after the summary of what ran).
: >"$log"
first=1 kvm_skip='' stalled_minikvm=''
while :; do
	part=$log.part
	kvm_failed=$(grep -a '^BENCH-FAIL [a-z0-9_]* kvm$' "$log" | cut -d' ' -f2 | paste -sd, -)
	bash selftests/rig/boot.sh --vmm "$vmm" --kernel "/boot/vmlinuz-$kver" \
		--initrd "$B/bench.cpio.gz" --log "$part" --timeout 3600 --mem 2048 \
		--append "mkvm.mode=bench mkvm.vendor=$vendor mkvm.rounds=$rounds mkvm.round_from=$first${kvm_skip:+ mkvm.kvm_skip=$kvm_skip}${kvm_failed:+ mkvm.kvm_failed=$kvm_failed}${metrics:+ mkvm.bench=$metrics} ${MKVM_APPEND:-}" &
	bpid=$!
	stalled=0
	rm -f "$log.stall"
	bench_watch "$part" $bpid "$log.stall" && stalled=1
	wait $bpid
	rc=$?
	tr -d '\r' <"$part" >>"$log"
	rm -f "$part"
	[ $stalled = 1 ] || break
	round=$(grep -a '^BENCH-ROUND' "$log" | tail -n 1 | cut -d' ' -f2)
	[ -n "$round" ] || round=$first
	read -r hm hd hl <"$log.stall"
	rm -f "$log.stall"
	if [ "$hm" = - ]; then
		echo "bench: no output for $hl s outside a metric in round $round: test VM stopped" >&2
		printf 'BENCH-HUNG - - round=%s\n' "$round" >>"$log"
		stalled_minikvm=-
		break
	fi
	echo "bench: $hm on $hd did not end in $hl s in round $round: test VM stopped" >&2
	printf 'BENCH-HUNG %s %s round=%s\nBENCH-FAIL %s %s\n' "$hm" "$hd" "$round" "$hm" "$hd" >>"$log"
	if [ "$hd" != kvm ]; then
		stalled_minikvm=$hm
		break
	fi
	kvm_skip=${kvm_skip:+$kvm_skip,}$hm
	first=$((round + 1))
	[ $first -le $rounds ] || { rc=0; break; }
done
if [ -z "$stalled_minikvm" ] && { [ $rc != 0 ] || ! grep -aq '^ok [0-9]* rig.bench_rounds' "$log"; } &&
   ! { [ $stalled = 1 ] && [ $first -gt $rounds ]; }; then
	echo "bench: the rounds did not complete (boot.sh rc=$rc); the end of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
fi

# Medians and 90th percentiles (nearest rank) per metric and device.
tr -d '\r' <"$log" | awk '
function sorted(key, a,   n, i, j, t) {
	n = split(vals[key], a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n
}
function pct(key, p,   a, n, k) {
	n = sorted(key, a)
	k = int((n * p + 99) / 100)
	return a[k < 1 ? 1 : k]
}
function median(key,   a, n) {
	n = sorted(key, a)
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 == "BENCH-COST" {
	if (!(($2 SUBSEP $3) in cost)) corder[++nc] = $2 SUBSEP $3
	cost[$2 SUBSEP $3] = $0
}
$1 == "BENCH-TIME" {
	if (!(($2) in secs)) torder[++nt] = $2
	secs[$2] += $4
	total += $4
}
$1 == "BENCH-SKIP" {
	if (!(($2 SUBSEP $3) in nskip)) sorder[++ns] = $2 SUBSEP $3
	nskip[$2 SUBSEP $3]++
}
$1 == "BENCH-HUNG" {
	# On minikvm, or outside a metric: the bench fails (exit 1).
	hung[++nh] = $0
	if ($3 != "kvm")
		bad = 1
}
$1 == "BENCH-FAIL" {
	if (!(($2 SUBSEP $3) in nfail)) forder[++nf] = $2 SUBSEP $3
	nfail[$2 SUBSEP $3]++
}
$1 == "BENCH-ROUND" { round = $2 }
$1 == "BENCH-RAW" {
	if (!(($2) in unit)) order[++nm] = $2
	unit[$2] = $5
	vals[$2 SUBSEP $3] = vals[$2 SUBSEP $3] " " $4
	cnt[$2 SUBSEP $3]++
	raw[$2 SUBSEP $3 SUBSEP round] = $4
	if (!(($2 SUBSEP round) in inround)) {
		inround[$2 SUBSEP round] = 1
		rounds[$2] = rounds[$2] " " round
	}
}
END {
	for (i = 1; i <= nm; i++) {
		m = order[i]
		if (!cnt[m SUBSEP "minikvm"]) {
			# Only a metric missing on minikvm fails the bench.
			printf "BENCH %s missing on minikvm\n", m
			bad = 1
			continue
		}
		if (!cnt[m SUBSEP "kvm"]) {
			# minikvm median alone: KVM finished no round of it.
			a = median(m SUBSEP "minikvm")
			printf "BENCH %s missing on kvm minikvm=%.1f %s minikvm_p90=%.1f rounds=%d\n",
				m, a, unit[m], pct(m SUBSEP "minikvm", 90),
				cnt[m SUBSEP "minikvm"]
			row[i] = sprintf("%-22s %12.1f %12s %7s %7s  %s", m, a, "-", "-", "-", unit[m])
			continue
		}
		a = median(m SUBSEP "minikvm"); b = median(m SUBSEP "kvm")
		# The paired ratio: the median of the ratios minikvm/KVM of
		# each round, over the rounds that have both.  The emulated
		# machine drifts between rounds; the two values of a round
		# share the drift.
		n = split(rounds[m], rr, " ")
		for (j = 1; j <= n; j++) {
			ka = m SUBSEP "minikvm" SUBSEP rr[j]
			kb = m SUBSEP "kvm" SUBSEP rr[j]
			if ((ka in raw) && (kb in raw) && raw[kb] + 0)
				vals[m SUBSEP "paired"] = vals[m SUBSEP "paired"] " " raw[ka] / raw[kb]
		}
		p = vals[m SUBSEP "paired"] != "" ? median(m SUBSEP "paired") : 0
		printf "BENCH %s minikvm=%.1f kvm=%.1f ratio=%.2f %s minikvm_p90=%.1f kvm_p90=%.1f rounds=%d paired_ratio=%.2f",
			m, a, b, b ? a / b : 0, unit[m],
			pct(m SUBSEP "minikvm", 90), pct(m SUBSEP "kvm", 90),
			cnt[m SUBSEP "minikvm"], p
		if (cnt[m SUBSEP "kvm"] != cnt[m SUBSEP "minikvm"])
			printf " kvm_rounds=%d", cnt[m SUBSEP "kvm"]
		printf "\n"
		row[i] = sprintf("%-22s %12.1f %12.1f %7.2f %7.2f  %s", m, a, b, b ? a / b : 0, p, unit[m])
	}
	printf "\n%-22s %12s %12s %7s %7s  %s\n", "metric (median)", "minikvm", "kvm", "ratio", "paired", "unit"
	for (i = 1; i <= nm; i++)
		if (i in row) print row[i]
	if (nc) {
		# The last round of each: the counts hardly vary.
		printf "\nprivileged operations per exit (minikvm built with MKVM_COSTS=1)\n"
		for (i = 1; i <= nc; i++) {
			n = split(cost[corder[i]], f, " ")
			line = sprintf("%-22s", f[2])
			for (j = 4; j <= n; j++)
				line = line " " f[j]
			print line
		}
	}
	if (nt) {
		# Where the time goes: guest seconds, both devices, all rounds.
		printf "\nguest seconds per metric, both devices, all rounds (total %.0f)\n", total
		for (i = 1; i <= nt; i++)
			printf "BENCH-SECONDS %s %.1f\n", torder[i], secs[torder[i]]
	}
	if (nf) {
		# A metric that failed in some rounds: its median is over the
		# others.  On minikvm that is a bug to look at: exit 1.
		printf "\nfailed (the bench process failed or hit its time limit; see the log)\n"
		for (i = 1; i <= nf; i++) {
			split(forder[i], f, SUBSEP)
			printf "BENCH-FAILED %s %s rounds=%d\n", f[1], f[2], nfail[forder[i]]
			if (f[2] == "minikvm")
				bad = 1
		}
	}
	for (i = 1; i <= nh; i++)
		# Stopped by the stall guard (above), a new test VM went on.
		print hung[i]
	for (i = 1; i <= ns; i++) {
		# Not run again on KVM after a failure there (guest-run.sh).
		split(sorder[i], f, SUBSEP)
		printf "BENCH-SKIPPED %s %s rounds=%d\n", f[1], f[2], nskip[sorder[i]]
	}
	exit bad
}'
