#!/bin/bash
# shootdown.sh [N] -- the cost a CPU running L2 pays per EPT01 shootdown (default N=50).
#
# The l1 guest built with shootdown=N (tests/guests/l1/interleave.c), 2 CPUs: CPU 0's L1 runs an
# L2 (on L1's EPT, so on EPT02) that reads 16 pages in a loop and adds up the gaps in its TSC
# (more than 1000 ticks between two iterations: time it did not run); CPU 1 first waits as long
# as the measurement lasts (the baseline: L2 without shootdowns), then makes N SET_PROT_ALL test
# hypercalls (EPT01 rights, on every CPU, of a page L2 does not use, or of one of its 16 pages:
# shootdown_page=l2), 2,000,000 ticks apart:
#   stolen per shootdown = (stolen ticks with shootdowns - baseline) / N
#                          (the kick NMI's exit, the INVEPT and EPT02 invalidation, the entry,
#                          and the EPT02 misses that follow)
#   latency              = from CPU 1's TSC just before its request to L2's first iteration
#                          after it (Bochs' TSC is one clock for every CPU)
#   request              = CPU 1's hypercall, until every CPU acknowledged its INVEPT
# Two builds, both -O2 --test-hypercalls: fine-grained invalidation (the default) and
# --ept02-full-drop (every change drops every EPT02 of the CPU).
# Raw numbers: $BENCH_RESULTS/shootdown.tsv; table: shootdown.md (also on stdout).
source "$(dirname "$0")/common.sh"
N=${1:-50}

build_variant() {   # NAME BUILD.SH-OPTIONS...
	local out=$BENCH_BUILD-shootdown-$1; shift
	log "building $out ($*)"
	./build.sh --out "$out" --test-hypercalls ${BENCH_APP:+--app "$BENCH_APP"} "$@" >"$out.build.log" 2>&1 ||
		{ tail -20 "$out.build.log" >&2; exit 1; }
}
build_variant fine
build_variant full --ept02-full-drop
tests/guests/l1/build.sh "$GUESTS/l1-shootdown-other" "shootdown=$N" >/dev/null
tests/guests/l1/build.sh "$GUESTS/l1-shootdown-l2" "shootdown=$N shootdown_page=l2" >/dev/null
RUNS=(fine-other fine-l2 full-other)
run() {   # BUILD-PAGE
	$BXRUN --out "$BENCH_RESULTS/runs/shootdown-$1" --disk "$BENCH_BUILD-shootdown-${1%-*}/xmhf-grub.img" \
		--disk "$GUESTS/l1-shootdown-${1#*-}/l1-disk.img" --cpus 2 --timeout 600 \
		--expect '^L1-SHOOTDOWN: n=' --stop-on '^L1-DONE' --grace 0.2 >&2
}
log "EPT01 shootdowns while L2 runs, fine-grained and full drop"
for r in "${RUNS[@]}"; do bg run "$r"; done
wait_all || { log "a run failed (see $BENCH_RESULTS/runs/shootdown-*/)"; exit 1; }

TSV=$BENCH_RESULTS/shootdown.tsv MD=$BENCH_RESULTS/shootdown.md
echo -e "variant\tn\tstolen\tbaseline\tper_shootdown\tlatency_avg\tlatency_max\trequest_avg" > "$TSV"
for v in "${RUNS[@]}"; do
	line=$(grep '^L1-SHOOTDOWN: n=' "$BENCH_RESULTS/runs/shootdown-$v/serial.txt" | head -1)
	val() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
	echo -e "$v\t$N\t$(val stolen)\t$(val baseline)\t$(val per_shootdown)\t$(val latency_avg)\t$(val latency_max)\t$(val request_avg)" >> "$TSV"
done
{
	echo "EPT01 shootdowns while L2 runs (2 CPUs, N=$N, -O2), $(revision)"
	echo
	echo "| EPT02 invalidation | ticks stolen from L2 per shootdown | latency: request to L2's next instruction (avg / max) | the requester's hypercall (avg) |"
	echo "| --- | --- | --- | --- |"
	tail -n +2 "$TSV" | while IFS=$'\t' read -r v n stolen base per lat latmax req; do
		case $v in
		fine-other) name="fine-grained, a page L2 does not use" ;;
		fine-l2) name="fine-grained, one of L2's pages" ;;
		*) name="full drop (--ept02-full-drop), a page L2 does not use" ;;
		esac
		echo "| $name | $(commas "$per") | $(commas "$lat") / $(commas "$latmax") | $(commas "$req") |"
	done
} | tee "$MD"
