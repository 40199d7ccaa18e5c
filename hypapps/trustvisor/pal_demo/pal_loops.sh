#!/bin/sh
# pal_loops ITERS [--nmi]: two PAL loops at once, `test_args64 3 ITERS 7` and
# `test_args32 4 ITERS 7` (issue 8 point 7), on CPUs 0 and 1 if there are two; both must end with `Test pass`. --nmi: while they
# run, NMIs to every other CPU without pause (`echo l > /proc/sysrq-trigger`: Linux's NMI
# backtrace, sent as NMI IPIs), console output off meanwhile; then the NMI count of
# /proc/interrupts must have grown by exactly (CPUs - 1) per trigger: none lost, none
# duplicated. Prints `pal_loops: ... ok` or `... FAILED`; status 0 / 1.
iters=$1 nmi=$2
nmis() { awk '$1 == "NMI:" { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' /proc/interrupts; }
cpus=$(grep -c '^processor' /proc/cpuinfo)
before=$(nmis) triggers=0
[ -n "$nmi" ] && echo 1 > /proc/sys/kernel/printk
pin64= pin32=
[ "$cpus" -ge 2 ] && pin64="taskset 1" pin32="taskset 2" # one loop per CPU
$pin64 test_args64 3 "$iters" 7 > /tmp/loop64 & p64=$!
$pin32 test_args32 4 "$iters" 7 > /tmp/loop32 & p32=$!
if [ -n "$nmi" ]; then
	while kill -0 $p64 2>/dev/null || kill -0 $p32 2>/dev/null; do
		echo l > /proc/sysrq-trigger
		triggers=$((triggers + 1))
	done
fi
wait $p64; rc64=$?
wait $p32; rc32=$?
after=$(nmis)
[ -n "$nmi" ] && echo 7 > /proc/sys/kernel/printk
result=ok
[ $rc64 = 0 ] && [ $rc32 = 0 ] && tail -n 1 /tmp/loop64 | grep -q '^Test pass$' &&
	tail -n 1 /tmp/loop32 | grep -q '^Test pass$' || result=FAILED
echo "pal_loops: test_args64 rc=$rc64, test_args32 rc=$rc32"
[ $result = ok ] || dmesg | grep -E 'segfault|traps:|protection fault' | tail -n 4 # the console missed them
if [ -n "$nmi" ]; then
	want=$((before + triggers * (cpus - 1)))
	echo "pal_loops: $triggers NMI triggers on $cpus CPUs: NMI count $before -> $after, expected $want"
	[ $triggers -gt 0 ] && [ "$after" = "$want" ] || result=FAILED
fi
echo "pal_loops: $result"
[ $result = ok ]
