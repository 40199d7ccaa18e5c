#!/usr/bin/env python3
"""udprecv.py -- receive the hypervisor's network log (netlog=, docs/netlog.md).

  udprecv.py [--bind ADDR] --port PORT [OUT]

Listens on UDP ADDR:PORT (default 127.0.0.1) and writes each datagram as one line to OUT
(default: stdout), flushed at once; prints "listening on ADDR:PORT" to stdout first (with OUT)
or to stderr. Runs until interrupted (SIGINT/SIGTERM).
"""
import argparse, signal, socket, sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--bind", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("out", nargs="?", help="file to write the lines to (default stdout)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((a.bind, a.port))
    out = open(a.out, "w") if a.out else sys.stdout
    print("listening on %s:%d" % (a.bind, a.port), file=sys.stdout if a.out else sys.stderr, flush=True)
    try:
        while True:
            data, _ = s.recvfrom(65535)
            out.write(data.decode("utf-8", "replace").rstrip("\r\n") + "\n")
            out.flush()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
