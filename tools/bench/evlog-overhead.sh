#!/bin/bash
# evlog-overhead.sh [CPUS...] -- the event logger's cost on the Linux boot (issue 10; default CPUS: 1 2).
#
# The Linux guest of linux-boot.sh boots under two builds of the same tree, in one run each:
#   off: $BENCH_BUILD (default configuration)
#   on:  $BENCH_BUILD-evlog (the same with --event-logger; no evlog_period=, so the counters are
#        printed once, at the guest's power-off, after the measured phase ends)
# To userspace = the guest's RDTSC in its first user program - the tick of its 0x7C00
# (linux-boot.sh): the measure, ratio on / off (goal <= 1.01). The Linux phase (to the power-off)
# is shown too, but it includes the logger's power-off blocks on the serial console (thousands
# of ticks a byte). Raw numbers: $BENCH_RESULTS/evlog-overhead.tsv; table: evlog-overhead.md.
source "$(dirname "$0")/common.sh"
CPUS=("$@"); [ ${#CPUS[@]} -gt 0 ] || CPUS=(1 2)
HV_AFTER=${HV_AFTER:-10000000}
EVLOG_BUILD=$BENCH_BUILD-evlog

build_hv
log "building $EVLOG_BUILD (--event-logger)"
./build.sh --out "$EVLOG_BUILD" --event-logger >"$EVLOG_BUILD.build.log" 2>&1 ||
	{ tail -20 "$EVLOG_BUILD.build.log" >&2; exit 1; }
build_linux_guest
declare -A HV_OF=([off]=$BENCH_BUILD [on]=$EVLOG_BUILD)
log "Linux boot on ${CPUS[*]} CPU(s), event logger off and on"
for c in "${CPUS[@]}"; do
	for v in off on; do
		bg run_linux "evlog-$v-${c}cpu" "$c" "$HV_AFTER" "${HV_OF[$v]}/xmhf-grub.img" "$LINUX_DISK"
	done
done
wait_all || log "some run failed (see $BENCH_RESULTS/runs/evlog-*/)"

TSV=$BENCH_RESULTS/evlog-overhead.tsv MD=$BENCH_RESULTS/evlog-overhead.md
echo -e "cpus\tto_userspace_off\tto_userspace_on\tlinux_phase_off\tlinux_phase_on" > "$TSV"
for c in "${CPUS[@]}"; do
	off=$BENCH_RESULTS/runs/evlog-off-${c}cpu on=$BENCH_RESULTS/runs/evlog-on-${c}cpu
	echo -e "$c\t$(to_userspace "$off")\t$(to_userspace "$on")\t$(linux_phase "$off")\t$(linux_phase "$on")" >> "$TSV"
done
{
	echo "Event logger overhead on the Linux boot, $(revision)"
	echo
	echo "| CPUs | to userspace, logger off | logger on | ratio on/off | Linux phase off | on (power-off blocks included) |"
	echo "| --- | --- | --- | --- | --- | --- |"
	tail -n +2 "$TSV" | while IFS=$'\t' read -r c uoff uon poff pon; do
		echo "| $c | $(commas "$uoff") | $(commas "$uon") | $(awk -v a="$uoff" -v b="$uon" 'BEGIN{printf "%.4f", b/a}') | $(commas "$poff") | $(commas "$pon") |"
	done
} | tee "$MD"
