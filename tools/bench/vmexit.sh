#!/bin/bash
# vmexit.sh -- instructions per VM exit round trip, measured by a guest.
#
# The bench guest (tests/guests/bench: a multiboot kernel that GRUB boots from its own disk)
# runs each loop N times between two RDTSCs, interrupts off, and prints the ticks; on 1 CPU a
# Bochs tick is one retired instruction, guest and hypervisor together. It runs bare (its disk as
# 0x80) and under the hypervisor ($BENCH_BUILD/xmhf-grub.img + its disk as 0x81):
#   instructions per exit round trip = (ticks_hv - ticks_bare) / N
# (the exiting instruction itself, 1 tick bare, and the loop overhead are in both).
#   cpuid         CPUID leaf 0: always exits
#   rdmsr-0x2ff   RDMSR IA32_MTRR_DEF_TYPE: intercepted, answered from the emulated MTRRs
#   inb-0x64      IN from the keyboard controller port, which the I/O bitmap watches
#   wrmsr-0x2ff   WRMSR IA32_MTRR_DEF_TYPE with its current value (N=100): an MTRR write
# Raw numbers: $BENCH_RESULTS/vmexit.tsv; table: vmexit.md (also on stdout).
source "$(dirname "$0")/common.sh"

build_hv
build_bench_guest
run() {   # NAME DISK...
	local name=$1; shift
	local disks=(); for d in "$@"; do disks+=(--disk "$d"); done
	$BXRUN --out "$BENCH_RESULTS/runs/$name" "${disks[@]}" --cpus 1 --timeout 300 \
		--expect '^BENCH-DONE' --stop-on '^BENCH-DONE' --grace 0.2 >&2
}
log "exit micro-benchmarks, bare and under the hypervisor"
bg run vmexit-bare "$BENCH_DISK"
bg run vmexit-hv "$BENCH_BUILD/xmhf-grub.img" "$BENCH_DISK"
wait_all || { log "a run failed (see $BENCH_RESULTS/runs/vmexit-*/)"; exit 1; }

TSV=$BENCH_RESULTS/vmexit.tsv MD=$BENCH_RESULTS/vmexit.md
bench_lines() { sed -n 's/^BENCH \([^ ]*\) n=\([0-9]*\) ticks=\([0-9]*\).*/\1\t\2\t\3/p' "$BENCH_RESULTS/runs/$1/serial.txt"; }
echo -e "test\tn\tticks_bare\tticks_hv\tper_iteration_bare\tper_exit" > "$TSV"
join -t $'\t' <(bench_lines vmexit-bare | sort) <(bench_lines vmexit-hv | cut -f1,3 | sort) |
	awk -F'\t' -v OFS='\t' '{printf "%s\t%s\t%s\t%s\t%.2f\t%.2f\n", $1, $2, $3, $4, $3/$2, ($4-$3)/$2}' >> "$TSV"
{
	echo "VM exit round trips (1 CPU), $(revision)"
	echo
	echo "| guest instruction | N | ticks bare | ticks hv | bare ticks per loop iteration | hypervisor instructions per exit round trip |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for t in nop cpuid rdmsr-0x2ff inb-0x64 wrmsr-0x2ff; do
		awk -F'\t' -v t="$t" '$1==t' "$TSV" | while IFS=$'\t' read -r name n tb th pb pe; do
			echo "| $name | $(commas "$n") | $(commas "$tb") | $(commas "$th") | $pb | $pe |"
		done
	done
} | tee "$MD"
