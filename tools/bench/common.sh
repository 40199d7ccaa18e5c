# common.sh -- sourced by the tools/bench/*.sh scripts.
#   BENCH_BUILD    hypervisor build dir (default build/bench; built with ./build.sh defaults:
#                  --max-cpus 8, -O2)
#   BENCH_APP      the hypapp to build it with (./build.sh --app; default: build.sh's)
#   BENCH_RESULTS  results dir (default $BENCH_BUILD/results): raw numbers (*.tsv), the markdown
#                  tables (*.md) and every Bochs run (runs/NAME/: serial.txt, bochs.log, ...)
#   BENCH_JOBS     Bochs runs in parallel (default 2; Bochs uses one host CPU per run)
# Ticks are Bochs ticks (clock: sync=none): deterministic, so one run per configuration.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BENCH_BUILD=${BENCH_BUILD:-build/bench}
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_BUILD/results}
BENCH_JOBS=${BENCH_JOBS:-2}
BXRUN="python3 tools/bochs/bxrun.py"
BXTICK="python3 tools/bench/bxtick.py"
GUESTS=$BENCH_BUILD/guest
mkdir -p "$BENCH_RESULTS/runs" "$GUESTS"

log() { echo "bench: $*" >&2; }

# the hypervisor, default configuration
build_hv() {
	log "building the hypervisor in $BENCH_BUILD (default configuration${BENCH_APP:+, --app $BENCH_APP})"
	./build.sh --out "$BENCH_BUILD" ${BENCH_APP:+--app "$BENCH_APP"} >"$BENCH_BUILD.build.log" 2>&1 ||
		{ tail -20 "$BENCH_BUILD.build.log" >&2; exit 1; }
}

# the exit micro-benchmark guest (tests/guests/bench)
build_bench_guest() {
	tests/guests/bench/build.sh "$GUESTS/vmexit" >/dev/null
	BENCH_DISK=$GUESTS/vmexit/bench-disk.img
}

# the Linux guest of tools/linux-guest with tools/bench/tsc.c as its test program
build_linux_guest() {
	LINUX_DISK=$GUESTS/linux-bench.img
	gcc -static -nostdlib -O2 -fno-stack-protector -fno-pie -no-pie -mgeneral-regs-only \
		-o "$GUESTS/tsc" tools/bench/tsc.c
	if [ ! -f "$LINUX_DISK" ] || [ tools/linux-guest/build-guest.sh -nt "$LINUX_DISK" ] ||
		[ tools/bench/tsc.c -nt "$LINUX_DISK" ]; then
		log "building the Linux guest $LINUX_DISK"
		tools/linux-guest/build-guest.sh -o "$LINUX_DISK" -t "$GUESTS/tsc" >&2
	fi
}

# run_linux NAME CPUS HIT DISK...: a Linux boot timed by bxtick.py (linux-boot.sh's header):
# runs/NAME/ticks.txt has break_tick (the tick of 0x7C00 after HIT) and end_tick (power-off)
run_linux() {
	local name=$1 cpus=$2 after=$3; shift 3
	local disks=(); for d in "$@"; do disks+=(--disk "$d"); done
	$BXTICK --after "$after" --out "$BENCH_RESULTS/runs/$name" "${disks[@]}" --cpus "$cpus" \
		--mem 1024 --timeout 900 >&2
}
linux_phase() { echo $(($(kv "$1/ticks.txt" end_tick) - $(kv "$1/ticks.txt" break_tick))); }
# the guest's first user program's RDTSC (BENCH-TSC) - break_tick
to_userspace() { echo $(($(sed -n 's/^BENCH-TSC \([0-9]*\).*/\1/p' "$1/serial.txt" | head -1) - $(kv "$1/ticks.txt" break_tick))); }

# run commands in the background, at most BENCH_JOBS at a time; `wait_all` waits for them
declare -a BG_PIDS=()
bg() {
	while [ "$(jobs -rp | wc -l)" -ge "$BENCH_JOBS" ]; do wait -n || true; done
	"$@" &
	BG_PIDS+=($!)
}
wait_all() {
	local rc=0
	for p in "${BG_PIDS[@]}"; do wait "$p" || rc=1; done
	BG_PIDS=()
	return $rc
}

# key=value from a file
kv() { sed -n "s/^$2=//p" "$1" | head -1; }

# 1234567 -> 1,234,567
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# revision line for the tables
revision() {
	local dirty=
	git diff --quiet HEAD 2>/dev/null || dirty=" + uncommitted changes"
	echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$dirty," \
		"Bochs $(dpkg-query -W -f '${Version}' bochs 2>/dev/null || echo '?')," \
		"model corei7_skylake_x, ips 50M, clock sync=none"
}
