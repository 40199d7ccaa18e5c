#!/usr/bin/env python3
"""l1cmp.py LOG -- differential test of the l1 guest: its result lines in LOG (a serial log from
tools/bochs/bxtest.py, used as a case `check`) against expected.log, the log of bare Bochs (Bochs'
own VMX as L0) with 2 CPUs: CPU 0's block, then the block every AP prints. A log with N CPUs must
have CPU 0's block and N-1 AP blocks, line by line the same, and `L1-DONE cpus=N pass=P fail=0`
with P the PASS lines. Under the hypervisor (the log has `xmhf:` lines) a test listed in
expected-differences.txt may differ in its note, never in PASS. A test of two CPUs (CPU 0's
init_signal) passes with the note "skip: needs 2 CPUs" in a log of one. Exit 0 if all agree; otherwise
the first difference is the first line of the output."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CPU = re.compile(r"^L1: cpu (\d+)$")


def result_lines(path):
    with open(path, errors="replace") as f:
        lines = [l.rstrip("\r\n") for l in f]
    return [l for l in lines if l.startswith("L1: ") or l.startswith("L1-DONE")], any("xmhf:" in l for l in lines)


def blocks(lines):
    out = []
    for l in lines:
        m = CPU.match(l)
        if m:
            out.append((int(m.group(1)), []))
        elif out and not l.startswith("L1-DONE"):
            out[-1][1].append(l)
    return out


def allowed_differences():
    names = {}
    with open(os.path.join(HERE, "expected-differences.txt")) as f:
        for l in f:
            if l.strip() and not l.startswith("#"):
                name, _, why = l.strip().partition(" ")
                names[name] = why.strip()
    return names


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lines, under_hv = result_lines(sys.argv[1])
    ref = blocks(result_lines(os.path.join(HERE, "expected.log"))[0])
    assert [n for n, _ in ref] == [0, 1], "expected.log: blocks for cpu 0 and cpu 1"
    allowed = allowed_differences() if under_hv else {}
    got = blocks(lines)
    problems, tolerated = [], []
    if [n for n, _ in got] != list(range(len(got))) or not got:
        problems.append("CPU blocks %s, want cpu 0..N-1" % [n for n, _ in got])
    for n, body in got:
        want = ref[min(n, 1)][1]
        for i in range(max(len(body), len(want))):
            g = body[i] if i < len(body) else "(missing)"
            w = want[i] if i < len(want) else "(nothing)"
            two = re.match(r"^(L1: \w+: PASS) \(skip: needs 2 CPUs\)$", g)
            if g == w or (len(got) == 1 and two and w.startswith(two.group(1))):
                continue
            m = re.match(r"^L1: (\w+): PASS( \(.*\))?$", g)
            if m and m.group(1) in allowed and w.startswith("L1: %s: PASS" % m.group(1)):
                tolerated.append("cpu %d: %s (%s)" % (n, g, allowed[m.group(1)]))
                continue
            problems.append("cpu %d line %d: got '%s', want '%s'" % (n, i + 1, g, w))
    passes = sum(1 for l in lines if re.match(r"^L1: \w+: PASS", l))
    done = "L1-DONE cpus=%d pass=%d fail=0" % (len(got), passes)
    if done not in lines:
        problems.append("no '%s' line" % done)
    if not problems:
        print("l1cmp: %d CPUs agree with bare Bochs (%d lines tolerated)" % (len(got), len(tolerated)))
    for p in problems + ["tolerated: " + t for t in tolerated]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
