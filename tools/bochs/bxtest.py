#!/usr/bin/env python3
"""bxtest.py -- run Bochs test cases (tests/bochs/*.case) in parallel with bxrun.py.

  bxtest.py --build DIR [--build DIR2]... [--only REGEX] [-j N] CASE...

Each case runs as `bxrun.py --out DIR/bochs/NAME ...` (NAME = case file name without .case),
once per build dir; with several build dirs a case is reported as NAME@BUILDDIRNAME.
Prints `PASS name (12.3 s)` or `FAIL name: reason (12.3 s)` plus log tails per case as it
finishes, and as the very last line `N passed, N failed`. Exit status 1 if any case failed.
The case format is described in tests/bochs/README.md.
"""
import argparse, os, re, signal, subprocess, sys, threading, time
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
}
ROOT = os.path.dirname(os.path.dirname(HERE))


RUNNING = set()     # bxrun.py processes, stopped (each stops its Bochs) if we are interrupted


def stop_all(*_):
    for p in list(RUNNING):
        p.terminate()
    os._exit(130)


def parse_case(path, build):
    """Returns (args for bxrun.py, missing input files, `check` scripts, judged log name).
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
    missing += [c for c in checks if not os.path.exists(os.path.join(ROOT, c))]
    return args, missing, checks, "stdout.txt" if e9 else "serial.txt"


def run_checks(checks, log):
    """Runs each `check` script on the judged log; returns (reason, output) of the first failure."""
    for c in checks:
        r = subprocess.run([os.path.join(ROOT, c), log], cwd=ROOT, stdout=subprocess.PIPE,
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
        args, missing, checks, log = parse_case(path, build)
    except (OSError, ValueError) as e:
        return name, False, "bad case file: %s" % e, "", 0.0
    if missing:
        return name, False, "missing " + ", ".join(missing), "", 0.0
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "bxrun.py"), "--out", out,
                          "--name", name] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, errors="replace")
    RUNNING.add(p)
    stdout = p.communicate()[0]
    RUNNING.discard(p)
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
    ap.add_argument("--build", required=True, action="append",
                    help="build dir: case paths are relative to it (repeatable: every case "
                         "runs against each)")
    ap.add_argument("--only", help="run only cases whose name matches this regex")
    ap.add_argument("-j", type=int, default=2, help="parallel Bochs runs (default 2)")
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_all)
    builds = [os.path.abspath(b) for b in a.build]
    cases = sorted(set(a.cases))
    if a.only:
        cases = [c for c in cases if re.search(a.only, os.path.basename(c)[:-5])]
    if not cases:
        print("bxtest: no cases selected", file=sys.stderr)
    lock, results = threading.Lock(), []

    def one(job):
        r = run_case(job[0], job[1], len(builds) > 1)
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
    jobs = sorted(((c, b) for c in cases for b in builds), key=lambda j: -case_timeout(j[0]))
    with ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        list(ex.map(one, jobs))
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
