#!/usr/bin/env python3
"""e820cmp.py SERIAL_LOG -- the guest's memory map must be the hypervisor's revised E820 map.

Compares the hypervisor's lines (loglvl=debug, xmhf/runtime/main.c revise_e820)
  [0] xmhf: e820[3] 0x0000000000100000-0x0000000010000000 type 1
with the checks guest's (tests/guests/checks, check e820_full; its multiboot map from GRUB)
  E820 3 0x0000000000100000-0x0000000010000000 type 1
entry by entry: same count, same base, end and type in order. Prints the first difference
and exits 1, or prints `e820cmp: N entries equal` and exits 0. Used as a bxtest `check`.
"""
import re, sys

HV = re.compile(r"^\[\d+\] xmhf: e820\[(\d+)\] 0x([0-9a-f]+)-0x([0-9a-f]+) type (\d+)\s*$")
GUEST = re.compile(r"^E820 (\d+) 0x([0-9a-f]+)-0x([0-9a-f]+) type (\d+)\s*$")


def entries(lines, rx, who):
    out = []
    for ln in lines:
        m = rx.match(ln)
        if m:
            i, base, end, typ = int(m[1]), int(m[2], 16), int(m[3], 16), int(m[4])
            if i != len(out):
                sys.exit("e820cmp: %s entry index %d out of order (expected %d): %s" % (who, i, len(out), ln))
            out.append((base, end, typ))
    return out


def fmt(e):
    return "0x%016x-0x%016x type %d" % e if e else "(none)"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    with open(sys.argv[1], errors="replace") as f:
        lines = [ln.rstrip("\r\n") for ln in f]
    hv, guest = entries(lines, HV, "hypervisor"), entries(lines, GUEST, "guest")
    if not hv:
        sys.exit("e820cmp: no `xmhf: e820[i]` lines: is the hypervisor at loglvl=debug?")
    if not guest:
        sys.exit("e820cmp: no guest `E820 i` lines: did the checks guest run e820_full?")
    for i in range(max(len(hv), len(guest))):
        h = hv[i] if i < len(hv) else None
        g = guest[i] if i < len(guest) else None
        if h != g:
            sys.exit("e820cmp: entry %d differs: hypervisor %s, guest %s (%d vs %d entries)"
                     % (i, fmt(h), fmt(g), len(hv), len(guest)))
    print("e820cmp: %d entries equal, last %s" % (len(hv), fmt(hv[-1])))


if __name__ == "__main__":
    main()
