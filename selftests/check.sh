#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: install what is missing (as root on Debian), build the
# module for each test kernel and the selftests, boot each rig
# configuration, print TAP per configuration and one closing line
# "N passed, N failed[, N skipped]".  Exits non-zero on any failure.
#
# Usage: selftests/check.sh [SUITE...]   (default: all)
# MKVM_APPEND adds guest kernel arguments, e.g. "mkvm.only=kvm" or
# "mkvm.tests=device_test" (see selftests/guest-run.sh); MKVM_SMP sets
# the test VM's CPU count (QEMU 2, Bochs 1 by default), MKVM_MEM its
# memory in MiB under QEMU (default 1024; 2048 for svm-6.1, where four
# of KVM's selftests give each vCPU 1 GiB of guest memory).
# A SUITE names a configuration or a prefix of one: "svm" selects
# svm-6.1 and svm-6.12.
#   lint      checkpatch --strict, W=1 and sparse on both kernels
#   unit      the instruction decoder and page walker, on the build machine
#   svm-6.1   QEMU TCG -cpu max (AMD SVM + NPT), Debian 6.1 kernel
#   svm-6.12  the same on Debian's 6.12 kernel
#   nosvm     QEMU with a CPU without SVM: minikvm must refuse to load
#   vmx       Bochs corei7_skylake_x (Intel VMX + EPT), Debian 6.1 kernel
#   debug     QEMU SVM on a debug 6.1 kernel (KASAN, lockdep, kmemleak,
#             UBSAN, DEBUG_LIST, DEBUG_ATOMIC_SLEEP) built once per machine
#             by selftests/rig/debug-kernel.sh
# svm-6.1 also runs KVM's own selftests on minikvm and on kvm_amd (the
# "peer" run, judged against selftests/peers/kvm-selftests.expect);
# MKVM_APPEND="mkvm.peers=0" leaves it out, "mkvm.tests=kvm-selftests"
# runs only it (see selftests/guest-run.sh).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build
ALL_SUITES="lint unit svm-6.1 svm-6.12 nosvm vmx debug"

. selftests/lib.sh

passed=0 failed=0 skipped=0
# What each failure printed, repeated before the closing lines: CI shows
# only the tail of the output.
digest=""
pass() { passed=$((passed + 1)); echo "ok $((passed + failed + skipped)) $*"; }
fail() { failed=$((failed + 1)); echo "not ok $((passed + failed + skipped)) $*"; }
# fail, and keep the lines of @2 (comments of the failed test) for the digest
fail_with() { # what lines
	fail "$1"
	digest="$digest# ---- not ok: $1"$'\n'"$2${2:+$'\n'}"
}
skip() { skipped=$((skipped + 1)); echo "ok $((passed + failed + skipped)) $* # SKIP"; }

# ---- which suites -------------------------------------------------------
suites=""
for want in ${@:-$ALL_SUITES}; do
	hit=""
	for s in $ALL_SUITES; do
		case $s in "$want"|"$want"-*) hit="$hit $s" ;; esac
	done
	[ -n "$hit" ] || { echo "check: unknown suite '$want' (have: $ALL_SUITES)" >&2; exit 2; }
	suites="$suites$hit"
done

mkvm_install_deps || exit 1

# ---- build --------------------------------------------------------------
K61=$(mkvm_kernel 6.1)
K612=$(mkvm_kernel 6.12)
[ -n "$K61" ] && [ -n "$K612" ] || { echo "check: Debian 6.1 and 6.12 kernels not found" >&2; exit 1; }

# The example Linux guest (vmrun_linux_test) boots Debian's 6.1 kernel,
# the smallest, in every suite.
make -s tools examples selftests GUEST_KERNEL=/boot/vmlinuz-$K61 || { echo "check: building the tools, examples or selftests failed" >&2; exit 1; }

# ---- KVM's selftests (the peer run) ------------------------------------
# The expectations: one line per binary, "name kvm_amd minikvm reason",
# results pass, skip, fail, flaky (passes, but known to fail at times;
# the reason says why), off (not run in the rig: too slow or too big for
# it) or build (does not build from the tarball).
# QEMU's boots are judged the same way, from selftests/peers/qemu.expect
# (names qemu/<configuration>); a name ending in @vmx is the boot in the
# vmx suite, where the reference column is kvm_intel's.
KST_EXPECT=selftests/peers/kvm-selftests.expect
QEMU_EXPECT=selftests/peers/qemu.expect
declare -A kst_exp kst_why
while read -r name amd mkvm why; do
	case $name in ''|'#'*) continue ;; esac
	ref=kvm_amd
	case $name in *@vmx) ref=kvm_intel ;; esac
	kst_exp[$name/$ref]=$amd kst_exp[$name/minikvm]=$mkvm kst_why[$name]=$why
done < <(cat "$KST_EXPECT"; sed '/^[a-z]/s/^/qemu\//' "$QEMU_EXPECT")

# Whether MKVM_APPEND leaves the peer run in (mkvm.peers=0 drops it; a
# mkvm.tests list keeps it only if it names kvm-selftests or all).
kst_wanted() {
	local a=" ${MKVM_APPEND:-} " t
	case $a in *" mkvm.peers=0 "*) return 1 ;; esac
	case $a in *" mkvm.tests="*) ;; *) return 0 ;; esac
	t=${a##* mkvm.tests=}; t=${t%% *}
	case ",$t," in *,all,*|*,kvm-selftests,*|*,kvm-selftests/*) return 0 ;; esac
	case ",$t," in *,qemu,*|*,qemu/*) return 0 ;; esac
	return 1
}

# Whether it includes QEMU's boots (as kst_wanted, for "qemu").
qemu_wanted() {
	local a=" ${MKVM_APPEND:-} " t
	case $a in *" mkvm.peers=0 "*) return 1 ;; esac
	case $a in *" mkvm.tests="*) ;; *) return 0 ;; esac
	t=${a##* mkvm.tests=}; t=${t%% *}
	case ",$t," in *,all,*|*,qemu,*|*,qemu/*) return 0 ;; esac
	return 1
}

kst_class() { # exit status|timeout: pass, skip or fail
	case $1 in 0) echo pass ;; 4) echo skip ;; *) echo fail ;; esac
}
kst_rank() { case $1 in pass) echo 2 ;; skip) echo 1 ;; *) echo 0 ;; esac; }

# One "MKVM-KST <label> <binary> <status> <s>" line against its expectation:
# as expected is a pass (a pass) or a skip with the reason (a skip or a
# known failure), worse is a failure, better a note to update the file.
# The last lines of a failed selftest's or boot's output, as comments.
kst_show() { [ -z "$1" ] || printf '%s\n' "$1" | sed 's/^/#   /'; }

kst_judge() { # suite label name status seconds output
	local id="$1: kvm-selftests/$2/$3" exp=${kst_exp[$3/$2]:-} got res
	local file=$KST_EXPECT
	case $3 in qemu/*) id="$1: $2/$3" file=$QEMU_EXPECT ;; esac
	# The vmx suite's QEMU boots have lines of their own (NAME@vmx).
	if [ "$1" = vmx ] && [ -n "${kst_exp[$3@vmx/$2]:-}" ]; then
		set -- "$1" "$2" "$3@vmx" "${@:4}"
		exp=${kst_exp[$3/$2]}
	fi
	case $4 in
	0) res=pass ;; 4) res=skip ;; timeout) res="hang (killed after the time limit)" ;;
	# 254: a TEST_ASSERT failed; 129..192: killed by a signal.
	*) [ "$4" -gt 128 ] 2>/dev/null && [ "$4" -le 192 ] &&
		res="crash (signal $(($4 - 128)))" || res="fail (exit status $4)" ;;
	esac
	got=$(kst_class "$4")
	if [ -z "$exp" ]; then
		fail "$id: $res, and no line in $file"
	elif [ "$4" = off ]; then
		skip "$id # not run in the rig: ${kst_why[$3]}"
	elif [ "$exp" = off ]; then
		# Named in mkvm.tests: whatever it does is information only.
		skip "$id # $res (not run in the rig otherwise: ${kst_why[$3]})"
	elif [ "$exp" = flaky ]; then
		# Known to fail at times (the reason says where and why): a
		# pass is a pass, a failure a skip that shows the output, a
		# skip a failure.
		case $got in
		pass) pass "$id" ;;
		fail) skip "$id # $res, known to fail at times: ${kst_why[$3]}"
		      kst_show "$6" ;;
		*) fail "$id: $res, expected pass (or a known failure)" ;;
		esac
	elif [ "$got" = "$exp" ]; then
		case $got in
		pass) pass "$id" ;;
		*) skip "$id # expected $exp: ${kst_why[$3]}" ;;
		esac
	elif [ "$(kst_rank "$got")" -gt "$(kst_rank "$exp")" ]; then
		echo "# NOTE: $id does better than expected ($exp -> $res): update $file"
		[ "$got" = pass ] && pass "$id" || skip "$id # $res, expected $exp: ${kst_why[$3]}"
	else
		fail "$id: $res, expected $exp"
		kst_show "$6"
	fi
	case $5 in 0.*) ;; *) echo "# ${id%%: *}: ${id#*: } took $5 s" ;; esac
}

# ---- one rig configuration ----------------------------------------------
# Reads the guest's serial log and turns it into TAP lines.
parse_log() { # suite log
	local suite=$1 log=$2 dev=rig bin="" line st name
	local runs=0 totals=0 kst_out="" kst_runs=0 tlog="" tlog_n=0
	local -A kst_secs
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"#kst "*) kst_out="$kst_out${kst_out:+$'\n'}${line#\#kst }" ;;
		MKVM-KST\ *)
			set -- $line
			case $3 in
			qemu/*) set -- "$1" "$2, QEMU" "$3" "$4" "$5" ;;
			*) kst_runs=$((kst_runs + 1)) ;;
			esac
			kst_secs[$2]=$((${kst_secs[$2]:-0} + 10#${5/./}))
			set -- $line
			kst_judge "$suite" "$2" "$3" "$4" "$5" "$kst_out"
			kst_out="" ;;
		MKVM-RUN\ *)
			set -- $line
			dev=$(basename "$2"); bin=$3; runs=$((runs + 1))
			tlog="" tlog_n=0 ;;
		"# Totals:"*) totals=$((totals + 1)) ;;
		"# "*)	# the running test's comments, its last 40 kept
			tlog="$tlog${tlog:+$'\n'}$line"
			tlog_n=$((tlog_n + 1))
			[ $tlog_n -gt 40 ] && tlog=${tlog#*$'\n'} ;;
		MKVM-TIME\ *)
			set -- $line
			echo "# $suite: $(basename "$2")/$3 took $4 s" ;;
		"not ok "[0-9]*)
			fail_with "$suite: $dev/${line#not ok * }" "$tlog"
			tlog="" tlog_n=0 ;;
		"ok "[0-9]*)
			tlog="" tlog_n=0
			name=${line#ok * }
			case $name in
			*"# SKIP"*) skip "$suite: $dev/${name%%# SKIP*}# ${name#*# SKIP}" ;;
			*) pass "$suite: $dev/$name" ;;
			esac ;;
		esac
	done < <(sed -n '/^MKVM-MODE/,/^MKVM-RIG-DONE/p' "$log")
	# Every binary must have run to its summary (no crash, no hang).
	[ "$runs" = "$totals" ] && pass "$suite: every test binary finished ($runs)" ||
		fail_with "$suite: $((runs - totals)) of $runs test binaries did not finish" "$tlog"
	for line in "${!kst_secs[@]}"; do
		echo "# $suite: peers on $line took $((kst_secs[$line] / 100)) s"
	done
	# The whole peer run: each binary once per device.
	if [ -n "$kst_bins" ]; then
		[ "$kst_runs" = "$kst_bins" ] &&
			pass "$suite: every KVM selftest ran ($kst_runs)" ||
			fail "$suite: every KVM selftest ran ($kst_runs of $kst_bins)"
	fi
}

# Host-side unit tests: kselftest TAP straight from the binary.
parse_unit() { # log
	local line
	while IFS= read -r line; do
		case $line in
		"not ok "[0-9]*) fail "unit: ${line#not ok * }" ;;
		"ok "[0-9]*) pass "unit: ${line#ok * }" ;;
		esac
	done <"$1"
}

# The guest kernel log after boot must be free of warnings and crashes,
# and of any report of the debug kernel's checkers.  kmemleak's own
# "N new suspected memory leaks" lines are left to guest-run.sh, which
# judges only leaks made by the tests (rig.kmemleak_reports_nothing).
dmesg_bad='WARNING|BUG|Oops|Call Trace|general protection|kernel panic'
dmesg_bad="$dmesg_bad|UBSAN|KASAN|lockdep|memory leak"
dmesg_bad="$dmesg_bad|possible circular locking|possible recursive locking"
dmesg_bad="$dmesg_bad|inconsistent lock state|lock held when returning"
dmesg_bad="$dmesg_bad|bad unlock balance|suspicious RCU usage|DEBUG_LOCKS_WARN_ON"
dmesg_bad="$dmesg_bad|turning off the locking correctness validator"
dmesg_bad="$dmesg_bad|sleeping function called from invalid context"
dmesg_bad="$dmesg_bad|list_add corruption|list_del corruption|list corruption"
# minikvm's own self-checks (MKVM_CHECKS=1, kmod/svm_clean.h).
dmesg_bad="$dmesg_bad|VMCB clean-bit violation|clean-bit check: self-test failed"
# A warning of KVM's own code (arch/x86/kvm, virt/kvm), from its WARNING
# line to the end of its trace, is the reference's bug, not ours (the
# random-ioctl fuzzer reaches some on kvm_intel, e.g. in
# kvm_apic_accept_events() under 6.1): shown, not judged.
kvm_warnings='/WARNING: .* at (arch\/x86\/kvm|virt\/kvm)\// { kvm = 1 }
	kvm { print > "/dev/stderr" } !kvm { print }
	/---\[ end trace/ { kvm = 0 }'
check_dmesg() { # suite log
	local bad ref
	ref=$(sed -n '/^===MKVM-DMESG-BEGIN===/,/^===MKVM-DMESG-END===/p' "$2" |
		awk "$kvm_warnings" 2>&1 >/dev/null | grep -E 'WARNING|Comm:')
	bad=$(sed -n '/^===MKVM-DMESG-BEGIN===/,/^===MKVM-DMESG-END===/p' "$2" |
		awk "$kvm_warnings" 2>/dev/null |
		grep -vE 'kmemleak: [0-9]+ new suspected memory leaks' |
		grep -E "$dmesg_bad")
	[ -z "$ref" ] || printf '%s\n' "$ref" | head -n 4 |
		sed "s/^/# NOTE: $1: a warning of KVM's own (not judged): /"
	if [ -z "$bad" ] && grep -q '^===MKVM-DMESG-END===' "$2"; then
		pass "$1: guest kernel log clean"
	else
		fail_with "$1: guest kernel log clean" \
			"$(printf '# %s\n' "${bad:-no kernel log in the serial output}" | head -n 40)"
		printf '# %s\n' "${bad:-no kernel log in the serial output}"
	fi
}

# A Debian kernel by default; the debug configuration passes its own
# kernel image, tree to build against and modules directory.
run_rig() { # suite vmm kver mode timeout [image kdir moddir]
	local suite=$1 vmm=$2 kver=$3 mode=$4 tmo=$5
	local image=${6:-/boot/vmlinuz-$3} kdir=${7:-} moddir=${8:-}
	local log=$B/$suite.log t0=$SECONDS rc kst="" mem=${MKVM_MEM:-} t checks=""
	echo "# $suite: $vmm, kernel $kver"
	# The self-checks (kmod/svm_clean.h) where the peers run and in the
	# debug configuration; svm-6.12 and vmx test the module as shipped.
	case $suite in svm-6.1|debug) checks=1 ;; esac
	if ! MKVM_CHECKS=$checks mkvm_build_module "$kver" ${kdir:+"$kdir"}; then
		fail "$suite: build minikvm.ko for $kver"
		return
	fi
	# KVM's selftests: in svm-6.1 only (CI time), unless MKVM_APPEND says no.
	[ "$suite" = svm-6.1 ] && mem=${MKVM_MEM:-2048}
	kst_bins=""
	if [ "$suite" = svm-6.1 ] && kst_wanted; then
		if bash selftests/peers/kvm-selftests-build.sh "$B" "$KST_EXPECT"; then
			kst=$B/kvm-selftests/bin
			{ cat "$KST_EXPECT"; sed '/^[a-z]/s/^/qemu\//' "$QEMU_EXPECT"; } |
				awk '!/^#/ && $2 == "off" { print "kvm_amd", $1 }
				!/^#/ && $3 == "off" { print "minikvm", $1 }' \
				>"$B/kvm-selftests/off"
			# Every binary once per device, when mkvm.tests or mkvm.only do not narrow it.
			case " ${MKVM_APPEND:-} " in
			*" mkvm.only="*) ;;
			*" mkvm.tests="*)
				t=" ${MKVM_APPEND} "; t=${t##* mkvm.tests=}; t=${t%% *}
				case ",$t," in *,all,*|*,kvm-selftests,*)
					kst_bins=$(($(ls "$kst" | wc -l) * 2)) ;;
				esac ;;
			*) kst_bins=$(($(ls "$kst" | wc -l) * 2)) ;;
			esac
		else
			fail "$suite: build KVM's selftests (see $B/kvm-selftests/build.log)"
		fi
	fi
	# QEMU in the test VM: svm-6.1 boots every configuration, vmx one
	# (a boot under Bochs takes about two minutes).
	qemu=""
	if { [ "$suite" = svm-6.1 ] || [ "$suite" = vmx ]; } && qemu_wanted; then
		if bash selftests/rig/qemu-payload.sh --kver "$kver" --out "$B/qemu-payload" \
			>"$B/qemu-payload.log" 2>&1; then
			qemu=$B/qemu-payload
		else
			fail "$suite: put QEMU in the payload (see $B/qemu-payload.log)"
		fi
	fi
	if ! MKVM_QEMU=$qemu MKVM_KST_BIN=$kst MKVM_KST_OFF=${kst:+$B/kvm-selftests/off} mkvm_make_initramfs "$suite" "$kver" ${moddir:+"$moddir"}; then
		fail "$suite: build the initramfs (see $B/$suite.mkinitramfs.log)"
		return
	fi
	bash selftests/rig/boot.sh --vmm "$vmm" --kernel "$image" \
		--initrd "$B/$suite.cpio.gz" --log "$log" --timeout "$tmo" \
		${MKVM_SMP:+--smp "$MKVM_SMP"} ${mem:+--mem "$mem"} --append "mkvm.mode=$mode mkvm.suite=$suite ${checks:+mkvm.checks=1 }${MKVM_APPEND:-}"
	rc=$?
	parse_log "$suite" "$log"
	[ $rc = 0 ] && grep -q '^MKVM-DONE rc=' "$log" &&
		pass "$suite: guest ran to completion and powered off" ||
		fail "$suite: guest ran to completion and powered off (boot.sh rc=$rc, log $log)"
	check_dmesg "$suite" "$log"
	# The debug kernel always has kmemleak: its verdict must be there.
	if [ "$suite" = debug ]; then
		grep -q '^ok [0-9]* rig.kmemleak_reports_nothing' "$log" &&
			pass "$suite: kmemleak active, no leak after the modules were unloaded" ||
			fail "$suite: kmemleak active, no leak after the modules were unloaded"
	fi
	echo "# $suite: $((SECONDS - t0)) s"
}

# The debug configuration: its kernel (built once per machine, ~8 min on
# 2 cores) and the complete SVM suite on minikvm and kvm_amd.  Everything
# is slower there (kvm_amd exits ~2.6x): generous time limit.
run_debug() {
	local dk t0=$SECONDS
	echo "# debug: debug kernel (built once per machine, log $B/debug-kernel.log)"
	dk=$(bash selftests/rig/debug-kernel.sh 2>"$B/debug-kernel.log" | tail -n 1)
	if [ -z "$dk" ] || [ ! -f "$dk/bzImage" ]; then
		fail "debug: build the debug kernel (see $B/debug-kernel.log)"
		tail -n 20 "$B/debug-kernel.log" | sed 's/^/# /'
		return
	fi
	echo "# debug: kernel in $dk ($((SECONDS - t0)) s)"
	run_rig debug qemu-svm "$(cat "$dk/kernelrelease")" svm 1800 \
		"$dk/bzImage" "$dk/src" "$dk/lib/modules"
}

echo "TAP version 13"
for s in $suites; do
	case $s in
	lint)
		echo "# lint: checkpatch --strict, W=1, sparse"
		if bash selftests/lint.sh "$K61" "$K612" >"$B/lint.log" 2>&1; then
			pass "lint: checkpatch --strict, W=1 and sparse clean on $K61 and $K612"
		else
			fail "lint: checkpatch --strict, W=1 and sparse clean"
			sed 's/^/# /' "$B/lint.log"
		fi ;;
	unit)
		echo "# unit: kmod/emulate.c on the build machine"
		bash selftests/unit/run.sh >"$B/unit.log" 2>&1
		rc=$?
		parse_unit "$B/unit.log"
		[ $rc = 0 ] && pass "unit: run.sh exits 0" ||
			fail "unit: run.sh exits 0 (see $B/unit.log)" ;;
	svm-6.1)  run_rig "$s" qemu-svm   "$K61"  svm   1500 ;;
	svm-6.12) run_rig "$s" qemu-svm   "$K612" svm   900 ;;
	nosvm)    run_rig "$s" qemu-nosvm "$K61"  nodev 600 ;;
	vmx)      run_rig "$s" bochs-vmx  "$K61"  vmx   2400 ;;
	debug)    run_debug ;;
	esac
done
[ -n "$digest" ] && printf '# ==== what the failures printed ====\n%s' "$digest"
echo "1..$((passed + failed + skipped))"

summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ $failed = 0 ]
