#!/bin/bash
# startup.sh [CPUS...] -- hypervisor start-up cost and memory (default CPUS: 1 2 4 8).
#
# The default build ($BENCH_BUILD: --max-cpus 8, -O2) boots from GRUB with the bench guest disk
# as 0x81 and is stopped once it starts the guest. Its console line
#   [0] xmhf: start-up took N TSC ticks from the loader; hypervisor range K KiB
# gives the start-up cost (loader entry to the guest's first instruction, on the boot CPU; with
# several CPUs a tick is one quantum step of every CPU, i.e. emulated time, not the sum of the
# instructions) and the memory the hypervisor reserves. A second image with loglvl=debug gives
# "[i] xmhf: cpu i: EPT01 uses N pages" for every CPU (the APs build theirs after the boot CPU
# has started the guest, so that is not in the start-up time). Also the image sizes.
# Raw numbers: $BENCH_RESULTS/startup.tsv; table: startup.md (also on stdout).
source "$(dirname "$0")/common.sh"
CPUS=("$@"); [ ${#CPUS[@]} -gt 0 ] || CPUS=(1 2 4 8)

build_hv
build_bench_guest
DEBUG_IMG=$BENCH_BUILD/xmhf-grub-debug.img
tools/image/mkgrubimg.sh "$BENCH_BUILD/xmhf.elf" "$DEBUG_IMG" --cmdline loglvl=debug >/dev/null
run() {   # NAME CPUS IMAGE STOP-RE
	$BXRUN --out "$BENCH_RESULTS/runs/$1" --disk "$3" --disk "$BENCH_DISK" --cpus "$2" \
		--timeout 600 --expect "$4" --stop-on "$4" --grace 0.2 >&2
}
for c in "${CPUS[@]}"; do
	log "start-up, $c CPU(s)"
	bg run startup-${c}cpu "$c" "$BENCH_BUILD/xmhf-grub.img" 'xmhf: starting the guest'
	# the guest's GRUB has run by the time it prints BENCH-START: every AP has set up its EPT01
	bg run startup-debug-${c}cpu "$c" "$DEBUG_IMG" '^BENCH-START'
done
wait_all || log "some run failed (see $BENCH_RESULTS/runs/startup-*/)"

TSV=$BENCH_RESULTS/startup.tsv MD=$BENCH_RESULTS/startup.md
echo -e "cpus\tstartup_ticks\trange_kib\tept01_pages_per_cpu\tept01_pages_total" > "$TSV"
for c in "${CPUS[@]}"; do
	s=$BENCH_RESULTS/runs/startup-${c}cpu/serial.txt d=$BENCH_RESULTS/runs/startup-debug-${c}cpu/serial.txt
	t=$(sed -n 's/.*start-up took \([0-9]*\) TSC ticks.*/\1/p' "$s" | head -1)
	k=$(sed -n 's/.*hypervisor range \([0-9]*\) KiB.*/\1/p' "$s" | head -1)
	pages=$(sed -n 's/.*cpu \([0-9]*\): EPT01 uses \([0-9]*\) pages.*/\1:\2/p' "$d" | sort -n | cut -d: -f2 | tr '\n' ' ' | sed 's/ $//')
	total=0; for p in $pages; do total=$((total + p)); done
	echo -e "$c\t$t\t$k\t${pages// /,}\t$total" >> "$TSV"
done
sz() { stat -c %s "$1"; }
{
	echo "Hypervisor start-up and memory (build --max-cpus 8, -O2), $(revision)"
	echo
	echo "| CPUs | start-up ticks (loader entry to the guest's first instruction) | hypervisor range | EPT01 pages per CPU | EPT01 total |"
	echo "| --- | --- | --- | --- | --- |"
	tail -n +2 "$TSV" | while IFS=$'\t' read -r c t k pages total; do
		echo "| $c | $(commas "$t") | $(commas "$k") KiB ($(awk -v k="$k" 'BEGIN{printf "%.1f", k/1024}') MiB) | ${pages//,/, } | $total pages ($((total * 4)) KiB) |"
	done
	echo
	echo "| image | bytes |"
	echo "| --- | --- |"
	echo "| xmhf.elf (what GRUB loads: loader + runtime.bin) | $(commas "$(sz "$BENCH_BUILD/xmhf.elf")") |"
	echo "| runtime.bin | $(commas "$(sz "$BENCH_BUILD/runtime.bin")") |"
	echo "| runtime.elf loaded sections (text + rodata + data + bss; the bss holds the page tables and per-CPU pages) | $(commas "$(size -A "$BENCH_BUILD/runtime.elf" | awk '$1 ~ /^\./ && $3 > 0 {s += $2} END {print s}')") |"
} | tee "$MD"
