#!/usr/bin/env python3
"""bxtest.py -- run Bochs test cases (tests/bochs/*.case) in parallel with bxrun.py.

  bxtest.py [--build DIR]... [--only REGEX] [-j N] CASE[@DIR]...

Each case runs as `bxrun.py --out DIR/bochs/NAME ...` (NAME = case file name without .case),
once per --build dir, or only against DIR when given as CASE@DIR (so that one run, with all
its parallel slots, covers cases that need different builds); with several build dirs a case
is reported as NAME@BUILDDIRNAME.
Prints `PASS name (12.3 s)` or `FAIL name: reason (12.3 s)` plus log tails per case as it
finishes, and as the very last line `N passed, N failed`. Exit status 1 if any case failed.
The case format is described in tests/bochs/README.md.
"""
import argparse, contextlib, os, re, shlex, signal, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
# key -> (bxrun option or None, repeatable, is a path relative to the build dir)
KEYS = {
    "image": (None, False, True), "iso": ("--cdrom", False, True),
    "disk2": (None, False, True), "disk": (None, True, True),
    "boot": ("--boot", False, False), "cpus": ("--cpus", False, False),
    "model": ("--model", False, False), "mem": ("--mem", False, False),
    "ips": ("--ips", False, False), "timeout": ("--timeout", False, False),
    "expect": ("--expect", True, False), "reject": ("--reject", True, False),
    "stop_on": ("--stop-on", True, False), "e9": (None, False, False),
    "bochs_line": ("--bochs-line", True, False), "check": (None, True, False),
    "udp_recv": (None, False, True),
}
ROOT = os.path.dirname(os.path.dirname(HERE))


RUNNING = set()     # bxrun.py processes, stopped (each stops its Bochs) if we are interrupted
PORT_LOCKS = {}     # udp_recv port file -> lock: the cases receiving on one port run one at a time
PORT_LOCKS_GUARD = threading.Lock()


def stop_all(*_):
    for p in list(RUNNING):
        p.terminate()
    os._exit(130)


def parse_case(path, build):
    """Returns (args for bxrun.py, missing input files, `check` scripts, judged log name,
    the file naming the UDP port to receive on or None).
    Raises ValueError on a bad file."""
    vals = {}
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            ln = ln.strip()
            if not ln or ln.startswith("#"):
                continue
            key, sep, val = ln.partition("=")
            key, val = key.strip(), val.strip()
            if not sep or key not in KEYS:
                raise ValueError("%s:%d: expected `key = value` with a known key, got %r"
                                 % (path, n, ln))
            opt, rep, is_path = KEYS[key]
            if is_path:
                val = os.path.join(build, val)
            if not rep and key in vals:
                raise ValueError("%s:%d: %s given twice" % (path, n, key))
            vals.setdefault(key, []).append(val)
    if not ("image" in vals or "iso" in vals):
        raise ValueError("%s: needs image or iso" % path)
    # disk order: image (BIOS 0x80 when booting from it), disk2, then any `disk` lines
    disks = vals.get("image", []) + vals.get("disk2", []) + vals.get("disk", [])
    args = ["--disk=" + d for d in disks]
    for key, v in vals.items():
        opt = KEYS[key][0]
        if opt:
            args += ["%s=%s" % (opt, x) for x in v]
    if "iso" not in vals:
        args.append("--boot=disk")
    e9 = vals.get("e9", ["0"])[0] not in ("0", "no", "false")
    if e9:
        args.append("--e9")
    checks = vals.get("check", [])
    missing = [p for p in disks + vals.get("iso", []) if not os.path.exists(p)]
    missing += [c.split()[0] for c in checks if not os.path.exists(os.path.join(ROOT, c.split()[0]))]
    udp = vals.get("udp_recv", [None])[0]
    missing += [udp] if udp and not os.path.exists(udp) else []
    return args, missing, checks, "stdout.txt" if e9 else "serial.txt", udp


def start_udp_receiver(port_file, out):
    """tools/netlog/udprecv.py on 127.0.0.1:PORT (PORT read from port_file) writing out/udp.txt;
    returns the process once it listens."""
    with open(port_file) as f:
        port = f.read().strip()
    os.makedirs(out, exist_ok=True)
    r = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "netlog", "udprecv.py"), "--port", port,
                          os.path.join(out, "udp.txt")], stdout=subprocess.PIPE, errors="replace")
    RUNNING.add(r)
    r.stdout.readline()  # "listening ..."
    return r


def run_checks(checks, log):
    """Runs each `check` (script and its arguments) on the judged log; returns (reason, output)
    of the first failure."""
    for c in checks:
        script, *args = shlex.split(c)
        r = subprocess.run([os.path.join(ROOT, script)] + args + [log], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, errors="replace")
        if r.returncode != 0:
            out = r.stdout.strip()
            msg = out.splitlines()[0] if out else "exited %d" % r.returncode
            return "check %s: %s" % (c, msg), out
    return None, ""


def run_case(path, build, label):
    name = os.path.basename(path)[:-len(".case")] if path.endswith(".case") else os.path.basename(path)
    out = os.path.join(build, "bochs", name)
    if label:
        name += "@" + os.path.basename(build)
    t0 = time.time()
    try:
        args, missing, checks, log, udp = parse_case(path, build)
    except (OSError, ValueError) as e:
        return name, False, "bad case file: %s" % e, "", 0.0
    if missing:
        return name, False, "missing " + ", ".join(missing), "", 0.0
    with PORT_LOCKS_GUARD:
        port_lock = PORT_LOCKS.setdefault(os.path.abspath(udp), threading.Lock()) if udp else None
    with port_lock or contextlib.nullcontext():
        receiver = start_udp_receiver(udp, out) if udp else None
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "bxrun.py"), "--out", out,
                              "--name", name] + args, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, errors="replace")
        RUNNING.add(p)
        stdout = p.communicate()[0]
        RUNNING.discard(p)
        if receiver:
            time.sleep(0.5)  # datagrams still in the loopback queue
            receiver.terminate()
            receiver.wait()
            RUNNING.discard(receiver)
    lines = stdout.splitlines()
    head = lines[0] if lines else ""
    reason = head.split(": ", 1)[1] if head.startswith("FAIL") and ": " in head else \
        (head or "bxrun.py exited %d" % p.returncode)
    ok = p.returncode == 0 and head.startswith("PASS")
    detail = "\n".join(lines[1:])
    if ok:
        reason, detail = run_checks(checks, os.path.join(out, log))
        ok = reason is None
    return name, ok, "" if ok else reason, detail, time.time() - t0


def case_timeout(path):
    """The case's timeout key (the default when absent), for scheduling."""
    with open(path) as f:
        for line in f:
            key, _, val = line.partition("=")
            if key.strip() == "timeout" and val.strip().isdigit():
                return int(val.strip())
    return 120  # bxrun.py's --timeout default


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--build", action="append", default=[],
                    help="build dir: case paths are relative to it (repeatable: every case "
                         "without @DIR runs against each)")
    ap.add_argument("--only", help="run only cases whose name matches this regex")
    ap.add_argument("-j", type=int, default=2, help="parallel Bochs runs (default 2)")
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_all)
    builds = [os.path.abspath(b) for b in a.build]
    jobs = set()
    for arg in a.cases:
        case, at, build = arg.partition("@")
        if at:
            jobs.add((case, os.path.abspath(build)))
        elif not builds:
            ap.error("%s: no --build and no @DIR" % arg)
        else:
            jobs.update((case, b) for b in builds)
    if a.only:
        jobs = {j for j in jobs if re.search(a.only, os.path.basename(j[0])[:-5])}
    if not jobs:
        print("bxtest: no cases selected", file=sys.stderr)
    several_builds = len({b for _, b in jobs}) > 1
    lock, results = threading.Lock(), []

    def one(job):
        r = run_case(job[0], job[1], several_builds)
        with lock:
            name, ok, reason, detail, secs = r
            if ok:
                print("PASS %s (%.1f s)" % (name, secs))
            else:
                print("FAIL %s: %s (%.1f s)" % (name, reason, secs))
                if detail:
                    print(detail)
            sys.stdout.flush()
            results.append(ok)

    # longest first (by timeout), so that a long case does not start last
    jobs = sorted(jobs, key=lambda j: (-case_timeout(j[0]), j))
    with ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        list(ex.map(one, jobs))
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
