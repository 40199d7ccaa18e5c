#!/usr/bin/env python3
"""bxtick.py -- one Bochs run (as tools/bochs/bxrun.py sets it up) that also records the Bochs
tick at which the CPU first executes a physical address for the Nth time.

  bxtick.py --out DIR [--break-at 0x7c00] [--after TICK] [--timeout S] BXRUN-OPTIONS...

The Bochs debugger stops at a physical breakpoint (`pb ADDR`) before the instruction there
executes and prints "Next at t=TICK"; the result is the first such tick >= --after. The
breakpoint is deleted after 3 stops, so the rest of the run goes at full speed (breakpoints
slow Bochs down while they exist). Why not simpler: with 2 CPUs Bochs 2.7 may miss a hit
(GRUB's boot.img at 0x7C00), reports the next one twice (25 ticks apart, same instruction), and
a time breakpoint (`sba`) never fired; one CPU is exact either way. Under VMX the
address is the one after EPT translation (identity-mapped for the guest's low memory here).
The run must end by itself (guest power-off). Writes DIR/bochsrc, serial.txt, stdout.txt,
bochs.log and DIR/ticks.txt: break_tick=, end_tick= (the last tick in bochs.log, e.g. the
power-off), wall_s=, and the breakpoint ticks seen (hits=). Exit status 0 iff both ticks exist.
"""
import argparse, os, re, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bochs"))
import bxrun  # noqa: E402


def main(argv):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--break-at", default="0x7c00")
    p.add_argument("--after", type=int, default=0, help="look for the address from this tick on")
    mine, rest = p.parse_known_args(argv)
    a = bxrun.parse_args(rest)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    for f in ("serial.txt", "stdout.txt", "bochs.log", "ticks.txt"):
        if os.path.exists(os.path.join(out, f)):
            os.unlink(os.path.join(out, f))
    with open(os.path.join(out, "bochsrc"), "w") as f:
        f.write(bxrun.make_bochsrc(a, out))
    with open(os.path.join(out, "debugger.rc"), "w") as f:
        f.write("pb %s\n" % mine.break_at + "continue\n" * 3 + "d 1\ncontinue\n")
    t0 = time.time()
    with open(os.path.join(out, "stdout.txt"), "wb") as so:
        rc = subprocess.call(["timeout", "-k", "5", str(a.timeout), "bochs", "-q", "-f",
                              os.path.join(out, "bochsrc"), "-rc", os.path.join(out, "debugger.rc")],
                             stdin=subprocess.DEVNULL, stdout=so, stderr=subprocess.STDOUT,
                             cwd=out, env=dict(os.environ, SDL_VIDEODRIVER="dummy"))
    wall = time.time() - t0
    with open(os.path.join(out, "stdout.txt"), errors="replace") as f:
        # every stop prints "Next at t=TICK"; the first one (t=0) is the start-up prompt
        hits = [int(t) for t in re.findall(r"Breakpoint \d+[^\n]*\nNext at t=(\d+)", f.read())]
    brk = next((h for h in hits if h >= mine.after), None)
    end = bxrun.last_ticks(os.path.join(out, "bochs.log"))
    for i in range(len(a.disk)):
        os.unlink(os.path.join(out, "disk%d.img" % i))
    with open(os.path.join(out, "ticks.txt"), "w") as f:
        f.write("break_tick=%s\nend_tick=%s\nwall_s=%.1f\nbochs_rc=%d\nhits=%s\n"
                % (brk if brk is not None else "", end or "", wall, rc,
                   " ".join(map(str, hits))))
    print("bxtick %s: break %s end %s (%.1f s)" % (os.path.basename(out), brk, end, wall))
    return 0 if brk is not None and end else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
