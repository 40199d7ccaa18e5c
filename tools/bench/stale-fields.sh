#!/bin/bash
# stale-fields.sh [ROUNDS [CPUS...]] -- the stale-field test of issue 10 point 4, long
# (default ROUNDS 10000 each for the I/O and the MSR bitmap, CPUS 2 4).
#
# The l1 guest built with stale=ROUNDS (tests/guests/l1/stale.c) under an event-logger build
# with the test hypercalls ($BENCH_BUILD-evlog: --event-logger --test-hypercalls): L2 on CPU 0
# reads a port, then an MSR, while CPU 1 moves the page of L1's bitmap to another host page at
# random moments (RELOCATE: an EPT01 shootdown) and sets the read's bit; L2's next read must exit
# to L1. The other CPUs (4-CPU run) only take the shootdowns. Per run: the rounds, the reads that
# exited, the stale reads (must be 0), and from the event logger's power-off blocks the shootdowns
# sent and applied and the rewalks of VMCS02's GPADDR fields with the fields they translated.
# Raw numbers: $BENCH_RESULTS/stale-fields.tsv; table: stale-fields.md (also on stdout).
source "$(dirname "$0")/common.sh"
ROUNDS=${1:-10000}
shift || true
CPUS=("$@"); [ ${#CPUS[@]} -gt 0 ] || CPUS=(2 4)

HV=$BENCH_BUILD-evlog
log "building $HV (--event-logger --test-hypercalls) and the l1 guest with stale=$ROUNDS"
./build.sh --out "$HV" --event-logger --test-hypercalls >"$HV.build.log" 2>&1 ||
	{ tail -20 "$HV.build.log" >&2; exit 1; }
tests/guests/l1/build.sh "$GUESTS/l1-stale" "stale=$ROUNDS" >/dev/null
run() {   # CPUS
	$BXRUN --out "$BENCH_RESULTS/runs/stale-fields-${1}cpu" --disk "$HV/xmhf-grub.img" \
		--disk "$GUESTS/l1-stale/l1-disk.img" --cpus "$1" --timeout 7200 \
		--expect '^L1-DONE cpus=[0-9]+ pass=1 fail=0$' --reject 'L1-STALE: .*FAIL|FATAL|xmhf: halted' \
		--stop-on '^L1-DONE' --grace 2 >&2
}
for c in "${CPUS[@]}"; do
	log "stale fields, $ROUNDS rounds each, $c CPUs"
	bg run "$c"
done
wait_all || log "some run failed (see $BENCH_RESULTS/runs/stale-fields-*/)"

TSV=$BENCH_RESULTS/stale-fields.tsv MD=$BENCH_RESULTS/stale-fields.md
counter() { /usr/bin/python3 tools/evlog/evlog.py "$1" | sed -n "s/.*[ ,]$2=\([0-9]*\).*/\1/p" | head -1; }
echo -e "cpus\tbitmap\trounds\texits\tstale\tshootdowns_sent\tshootdowns_applied\trewalks\trewalk_fields" > "$TSV"
for c in "${CPUS[@]}"; do
	s=$BENCH_RESULTS/runs/stale-fields-${c}cpu/serial.txt
	sd=$(counter "$s" shootdowns_sent) sa=$(counter "$s" shootdowns_applied)
	rw=$(counter "$s" rewalks) rf=$(counter "$s" rewalk_fields)
	sed -n 's/^L1-STALE: \([a-z]*\) rounds=\([0-9]*\) exits=\([0-9]*\) stale=\([0-9]*\).*/\1 \2 \3 \4/p' "$s" |
		while read -r kind r e st; do
			echo -e "$c\t$kind\t$r\t$e\t$st\t$sd\t$sa\t$rw\t$rf" >> "$TSV"
		done
done
{
	echo "Stale VMCS02 fields under EPT01 shootdowns (tools/bench/stale-fields.sh), $(revision)"
	echo
	echo "| CPUs | bitmap | rounds | reads that exited to L1 | stale reads | shootdowns sent / applied (run) | rewalks (fields) (run) |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	tail -n +2 "$TSV" | while IFS=$'\t' read -r c kind r e st sd sa rw rf; do
		echo "| $c | $kind | $(commas "$r") | $(commas "$e") | $st | $(commas "$sd") / $(commas "$sa") | $(commas "$rw") ($(commas "$rf")) |"
	done
} | tee "$MD"
awk -F'\t' 'NR > 1 && ($5 != 0 || $3 != $4) { bad = 1 } END { exit bad }' "$TSV"
