#!/usr/bin/env python3
"""netlog-check.py -- a Bochs case `check` (tests/bochs/netlog-*.case): the lines the UDP
receiver got (udp.txt next to LOG) equal the serial log's hypervisor lines (those starting
with "[CPU] ", the runtime's; the loader's "[L]" lines precede the network log), in order.

  netlog-check.py [--min N] LOG
  netlog-check.py --none LOG       (the channel is off: nothing may arrive)

Exit 0 if they are equal and at least N (default 10) lines came; else 1 with the first
difference on the first line of output.
"""
import argparse, os, re, sys

HV_LINE = re.compile(r"^\[[0-9]+\] ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--min", type=int, default=10)
    ap.add_argument("--none", action="store_true", help="pass only if no datagram arrived")
    ap.add_argument("log")
    a = ap.parse_args()
    with open(a.log, errors="replace") as f:
        serial = [ln.rstrip("\r\n").replace("\r", "") for ln in f]
    serial = [ln for ln in serial if HV_LINE.match(ln)]
    udp_path = os.path.join(os.path.dirname(a.log), "udp.txt")
    if not os.path.exists(udp_path):
        print("no %s: the receiver did not run" % udp_path)
        return 1
    with open(udp_path, errors="replace") as f:
        udp = [ln.rstrip("\n") for ln in f]
    if a.none:
        print("%d datagrams received%s" % (len(udp), ", expected none" if udp else ""))
        return 1 if udp else 0
    for i, (s, u) in enumerate(zip(serial, udp)):
        if s != u:
            print("line %d differs: serial %r, received %r" % (i + 1, s, u))
            return 1
    if len(udp) != len(serial):
        more, which = (serial, "serial") if len(serial) > len(udp) else (udp, "received")
        print("%d serial hypervisor lines, %d received; first extra %s line: %r"
              % (len(serial), len(udp), which, more[min(len(serial), len(udp))]))
        return 1
    if len(udp) < a.min:
        print("only %d lines received (< %d)" % (len(udp), a.min))
        return 1
    print("%d hypervisor lines received, equal to the serial log's, in order" % len(udp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
