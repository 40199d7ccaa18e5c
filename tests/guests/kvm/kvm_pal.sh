#!/bin/sh
# kvm_pal N L: TrustVisor PALs on CPU 1 while Linux KVM's L2 runs on CPU 0 (issue 10 point 4,
# the seed's setting; case pal-kvm-2cpu). `test_args64 7 N 7` runs over and over, pinned to
# CPU 1: each iteration registers and unregisters PALs, EPT01 changes on every CPU with
# shootdowns. Once its first iteration passed, `kvmtest --loops L` runs pinned to CPU 0 (its
# vCPU there: L2's CPUID loop, I/O, MMIO and HLT exits, decided by VMCS02's fields); the PAL
# loop goes on until kvmtest ended, so its EPT01 changes cover the whole L2 run. Both must pass:
# kvmtest's status 0 and every PAL run's `Test pass`. Prints kvmtest's lines, then
# `kvm_pal: ok` or `kvm_pal: FAILED`; status 0 / 1.
iters=$1 loops=$2
done_mark=/tmp/kvm_pal.done pal_out=/tmp/kvm_pal.pal runs_out=/tmp/kvm_pal.runs
rm -f $done_mark $runs_out
: > $pal_out
taskset 2 sh -c '
	runs=0
	while [ ! -e "$2" ]; do
		test_args64 7 "$1" 7 > "$3" && tail -n 1 "$3" | grep -q "^Test pass$" || exit 1
		runs=$((runs + 1))
		echo $runs > "$4"
	done' sh "$iters" $done_mark $pal_out $runs_out & pal=$!
while [ ! -s $pal_out ] && kill -0 $pal 2>/dev/null; do sleep 1; done # its first iteration
taskset 1 kvmtest --loops "$loops" > /tmp/kvm_pal.kvm; rc_kvm=$?
touch $done_mark
wait $pal; rc_pal=$?
cat /tmp/kvm_pal.kvm
runs=$(cat $runs_out 2>/dev/null || echo 0)
echo "kvm_pal: kvmtest --loops $loops rc=$rc_kvm; $runs runs of test_args64 7 $iters 7 rc=$rc_pal"
[ $rc_pal = 0 ] || tail -n 2 $pal_out
result=ok
[ $rc_kvm = 0 ] && [ $rc_pal = 0 ] && [ "$runs" -gt 0 ] || result=FAILED
echo "kvm_pal: $result"
[ $result = ok ]
