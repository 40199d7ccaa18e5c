#!/bin/bash
# all.sh -- every benchmark (`make bench`): start-up, exit round trips, Linux boot, PAL costs.
# Prints the markdown tables and writes them to $BENCH_RESULTS/summary.md (raw numbers in
# $BENCH_RESULTS/*.tsv, every Bochs run in $BENCH_RESULTS/runs/). About 3-5 minutes of wall
# time on an idle 2-CPU host (BENCH_JOBS=2 Bochs runs at a time). See docs/performance.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/common.sh"
"$HERE/startup.sh" >/dev/null
"$HERE/vmexit.sh" >/dev/null
"$HERE/linux-boot.sh" >/dev/null
"$HERE/pal.sh" >/dev/null
for t in startup vmexit linux-boot pal; do cat "$BENCH_RESULTS/$t.md"; echo; done | tee "$BENCH_RESULTS/summary.md"
