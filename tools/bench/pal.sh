#!/bin/bash
# pal.sh [N] -- TrustVisor PAL costs (issue 8), measured by a guest program, N operations each
# (default 200).
#
# The Linux guest with pal_demo (hypapps/trustvisor/pal_demo, the pal-guest.img of the Makefile)
# runs `pal_bench64 N` under the default build (--app trustvisor) on 2 CPUs, in one Bochs run.
# pal_bench prints RDTSC ticks around N operations with pal_10_int (ten integer arguments):
#   call       (call-pal - call-native) / N: a PAL call's cost over a bare function call
#   register   (register - register-native) / N: TV_HC_REG beyond the caller's own mmap/mlock/copy
#   unregister (unregister - unregister-native) / N
#   two loops  loop-2 / loop-1: N PAL calls while another process makes N calls of its own PAL
#              on the other CPU (until the later loop ends), over N calls alone (1.0: PALs on two
#              CPUs do not wait for each other)
# With 2 CPUs a tick is one quantum step of every CPU (emulated time); the other CPU idles (HLT)
# except in loop-2, so a tick is an instruction of the measuring CPU. Deterministic.
# Raw numbers: $BENCH_RESULTS/pal.tsv; table: pal.md (also on stdout).
source "$(dirname "$0")/common.sh"
N=${1:-200}

build_hv
PAL_DISK=$GUESTS/pal-bench.img
log "building the PAL guest $PAL_DISK (pal_bench64 $N)"
rm -rf "$GUESTS/pal-bin" && mkdir -p "$GUESTS/pal-bin"
make -C hypapps/trustvisor/pal_demo OUT="$ROOT/$GUESTS/pal_demo" >/dev/null
cp "$GUESTS/pal_demo/pal_demo64" "$GUESTS/pal-bin/" && ln -s pal_demo64 "$GUESTS/pal-bin/pal_bench64"
tools/linux-guest/build-guest.sh -o "$PAL_DISK" -d "$GUESTS/pal-bin" -r "pal_bench64 $N" >&2
log "pal_bench64 $N, 2 CPUs"
$BXRUN --out "$BENCH_RESULTS/runs/pal-2cpu" --disk "$BENCH_BUILD/xmhf-grub.img" --disk "$PAL_DISK" \
	--cpus 2 --timeout 1800 --expect '^GUEST-DONE rc=0' --stop-on '^GUEST-DONE' --grace 0.5 >&2 ||
	{ log "the run failed (see $BENCH_RESULTS/runs/pal-2cpu/)"; exit 1; }

TSV=$BENCH_RESULTS/pal.tsv MD=$BENCH_RESULTS/pal.md
sed -n 's/^PAL-BENCH \([^ ]*\) n=\([0-9]*\) ticks=\([0-9]*\).*/\1\t\2\t\3/p' \
	"$BENCH_RESULTS/runs/pal-2cpu/serial.txt" > "$TSV"
t() { awk -F'\t' -v k="$1" '$1 == k { print $3 }' "$TSV"; }
per() { echo $(( ($(t "$1") - $(t "$2")) / N )); }
ratio=$(awk -v a="$(t loop-1)" -v b="$(t loop-2)" 'BEGIN { printf "%.2f", b / a }')
{
	echo "TrustVisor PAL costs (pal_bench64 $N, 2 CPUs, ticks per operation), $(revision)"
	echo
	echo "| operation | this tree | XMHF64 | goal |"
	echo "| --- | --- | --- | --- |"
	echo "| PAL call, ten integer arguments (over a bare call: $(commas $(( $(t call-native) / N ))) ticks) | $(commas "$(per call-pal call-native)") | 1,590,000 | 40,000 |"
	echo "| register (over the caller's own part: $(commas $(( $(t register-native) / N )))) | $(commas "$(per register register-native)") | 3,560,000 | 500,000 |"
	echo "| unregister (over the caller's own part: $(commas $(( $(t unregister-native) / N )))) | $(commas "$(per unregister unregister-native)") | 490,000 | 100,000 |"
	echo "| two PAL loops on two CPUs / one loop | ${ratio}x | 1.93x | 1.1x |"
} | tee "$MD"
