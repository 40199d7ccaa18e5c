#!/bin/bash
# run.sh [BUILD_DIR] -- self-test of the image builders and the Bochs runner.
# Builds a tiny multiboot kernel (kernel.c) into BUILD_DIR/selftest/ (default: build), wraps it
# with tools/image/mkgrubimg.sh and mkiso.sh, runs the selftest-*.case files with bxtest.py and
# checks that every case ends as its `# want:` line says (pass, expect missing, expect out of
# order, reject, timeout, stop-on), plus the summary line, the exit status, --only, CASE@DIR and
# bxrun --follow.
# Exit 0 only if every path behaves.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=$(cd "$HERE/../.." && pwd)
B=$(mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
S=$B/selftest; mkdir -p "$S"
"$HERE/build.sh" "$S/selftest.elf"
"$TOOLS/image/mkgrubimg.sh" "$S/selftest.elf" "$S/ok.img" --cmdline selftest=1 >/dev/null
"$TOOLS/image/mkgrubimg.sh" "$S/selftest.elf" "$S/hang.img" --cmdline hang >/dev/null
"$TOOLS/image/mkiso.sh" "$S/selftest.elf" "$S/ok.iso" --cmdline selftest=1 >/dev/null

bad=0
check() { if eval "$2"; then echo "ok:   $1"; else echo "BAD:  $1"; bad=1; fi; }

set +e
"$TOOLS/bochs/bxtest.py" --build "$B" -j 2 "$HERE"/selftest-*.case > "$S/bxtest.out" 2>&1
rc=$?
set -e
cat "$S/bxtest.out"
echo "--- checks ---"
check "bxtest exit status is non-zero (some cases must fail)" '[ $rc -ne 0 ]'
npass=0 nfail=0
for c in "$HERE"/selftest-*.case; do
  n=$(basename "$c" .case)
  want=$(sed -n 's/^# want: //p' "$c")
  if [ "$want" = PASS ]; then
    npass=$((npass + 1))
    check "$n passes" 'grep -qxE "PASS $n \([0-9.]+ s\)" "$S/bxtest.out"'
  else
    nfail=$((nfail + 1))
    reason=${want#FAIL }
    check "$n fails with: $reason" 'grep -qF "FAIL $n: $reason (" "$S/bxtest.out"'
  fi
done
check "last line is '$npass passed, $nfail failed'" '[ "$(tail -n1 "$S/bxtest.out")" = "$npass passed, $nfail failed" ]'
wall=$(sed -n 's/^wall_s=//p' "$B/bochs/selftest-stop-on/result.txt")
check "stop_on ended the hanging kernel early (${wall} s < 20 s)" '[ "${wall%.*}" -lt 20 ]'
check "stop_on run recorded stopped_by=stop-on" 'grep -qx "stopped_by=stop-on" "$B/bochs/selftest-stop-on/result.txt"'
check "result.txt has a tick count" 'grep -qE "^ticks=[0-9]+$" "$B/bochs/selftest-disk/result.txt"'
check "--only selects one case" '[ "$("$TOOLS/bochs/bxtest.py" --build "$B" --only "^selftest-disk$" "$HERE"/selftest-*.case | tail -n1)" = "1 passed, 0 failed" ]'
# CASE@DIR: one case against one build dir, without --build; a second dir names each run NAME@DIR
mkdir -p "$B/selftest-b/selftest" && cp "$S/ok.img" "$B/selftest-b/selftest/"
"$TOOLS/bochs/bxtest.py" "$HERE/selftest-disk.case@$B" "$HERE/selftest-disk.case@$B/selftest-b" > "$S/at.out" 2>&1 || true
check "CASE@DIR runs against that dir only" 'grep -qxE "PASS selftest-disk@$(basename "$B") \([0-9.]+ s\)" "$S/at.out" && grep -qxE "PASS selftest-disk@selftest-b \([0-9.]+ s\)" "$S/at.out" && [ "$(tail -n1 "$S/at.out")" = "2 passed, 0 failed" ]'
check "bxrun --follow streams the serial log, exit 0" \
  '"$TOOLS/bochs/bxrun.py" --out "$B/bochs/selftest-follow" --disk "$S/ok.img" --timeout 60 --follow --expect "SELFTEST OK" > "$S/follow.out" && grep -q "^SELFTEST: cmdline=" "$S/follow.out" && grep -qx "PASS selftest-follow" "$S/follow.out"'
check "bxrun exits 1 on FAIL" \
  '! "$TOOLS/bochs/bxrun.py" --out "$B/bochs/selftest-fail" --disk "$S/ok.img" --timeout 60 --expect "NEVER" >/dev/null'
if [ $bad = 0 ]; then echo "SELFTEST: all runner paths behave"; else echo "SELFTEST: FAILED"; fi
exit $bad
