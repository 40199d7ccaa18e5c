#!/usr/bin/env python3
"""bxrun.py -- run one headless, deterministic Bochs boot and judge its serial log.

  bxrun.py --out DIR [--disk IMG]... [--cdrom ISO] [--boot disk|cdrom] [--cpus N]
           [--model M] [--mem MiB] [--ips N] [--timeout S] [--expect RE]... [--reject RE]...
           [--stop-on RE] [--follow] [--e9] [--name NAME] [--bochs-line LINE]...

Devices: a CD (--cdrom) goes to ata0-master, then the disks in order to the free slots of
ata0-master, ata0-slave, ata1-master, ata1-slave. The BIOS numbers hard disks 0x80, 0x81, ...
in that order (a CD takes no number). --boot defaults to cdrom if a CD is given, else disk.

Disk images are copied to DIR/diskN.img first (cp --reflink=auto): Bochs locks a flat image
while it runs (a second run of the same file fails with "image locked", and a killed Bochs leaves
a stale .lock behind), and the copy keeps the guest's writes out of the build. The copies are
deleted after a PASS (kept after a FAIL, for rerunning DIR/bochsrc by hand) unless --keep-disks.

Writes DIR/bochsrc, debugger.rc, serial.txt (COM1), serial.stamped (wall seconds + line; with
--e9 stdout.stamped), stdout.txt (Bochs stdout = port 0xE9 output + a few debugger lines),
bochs.log, result.txt (verdict, reason, bochs_rc, wall_s, ticks = Bochs tick count at exit,
first_line_s, stopped_by, end = Bochs' last PANIC message, e.g. "ACPI control: soft power off").

Verdict: PASS iff every --expect regex (re.search) matched a line of the log in the given order
(one line may satisfy several consecutive expects), no --reject regex matched any line, and the
run did not hit --timeout. The log is serial.txt with CR stripped, or with --e9 the port 0xE9
output. Once a --stop-on regex (or a --reject regex) matches, Bochs is stopped after a short
grace period (--grace, 1 s) instead of burning the timeout. --follow streams the log to stdout
live; Ctrl-C stops Bochs. Prints 'PASS NAME' or 'FAIL NAME: reason' (+ log tails); exit 0/1.
"""
import argparse, os, re, signal, string, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
SLOTS = ["ata0-master", "ata0-slave", "ata1-master", "ata1-slave"]
CYL_BYTES = 16 * 63 * 512          # flat images: whole cylinders of 16 heads x 63 sectors
TICK_RE = re.compile(rb"^(\d{11,})[a-z]\[")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--name", help="name in the verdict line (default: basename of --out)")
    p.add_argument("--disk", action="append", default=[], help="flat disk image (repeatable)")
    p.add_argument("--cdrom", help="ISO image")
    p.add_argument("--boot", choices=["disk", "cdrom"])
    p.add_argument("--cpus", type=int, default=1)
    p.add_argument("--model", default="corei7_skylake_x")
    p.add_argument("--mem", type=int, default=512, help="guest RAM in MiB")
    p.add_argument("--ips", type=int, default=50000000)
    p.add_argument("--timeout", type=float, default=120, help="wall seconds")
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--stop-on", action="append", default=[])
    p.add_argument("--grace", type=float, default=1.0, help="seconds to run on after --stop-on")
    p.add_argument("--follow", action="store_true", help="stream the log to stdout")
    p.add_argument("--e9", action="store_true", help="judge port 0xE9 output instead of COM1")
    p.add_argument("--keep-disks", action="store_true", help="keep DIR/diskN.img after a PASS")
    p.add_argument("--bochs-line", action="append", default=[],
                   help="extra bochsrc line, appended last (e.g. 'magic_break: enabled=1')")
    a = p.parse_args(argv)
    if not a.disk and not a.cdrom:
        p.error("need --disk or --cdrom")
    a.boot = a.boot or ("cdrom" if a.cdrom else "disk")
    if a.boot == "cdrom" and not a.cdrom or a.boot == "disk" and not a.disk:
        p.error("--boot %s without such a device" % a.boot)
    if len(a.disk) + bool(a.cdrom) > len(SLOTS):
        p.error("at most %d devices" % len(SLOTS))
    return a


def make_bochsrc(a, out):
    tpl = string.Template(open(os.path.join(HERE, "bochsrc.template")).read())
    lines = [tpl.substitute(mem=a.mem, model=a.model, cpus=a.cpus, ips=a.ips,
                            msrs=os.path.join(HERE, "msrs.def"),
                            serial=os.path.join(out, "serial.txt"),
                            log=os.path.join(out, "bochs.log"))]
    slots = list(SLOTS)
    lines.append("# --- devices (bxrun.py) ---")
    if a.cdrom:
        lines.append("%s: type=cdrom, path=%s, status=inserted"
                     % (slots.pop(0), os.path.abspath(a.cdrom)))
    for i, d in enumerate(a.disk):
        size = os.path.getsize(d)
        if size % CYL_BYTES:
            raise SystemExit("bxrun: %s: size %d is not a multiple of %d (16*63*512)"
                             % (d, size, CYL_BYTES))
        copy = os.path.join(out, "disk%d.img" % i)
        for f in (copy, copy + ".lock"):
            if os.path.exists(f):
                os.unlink(f)
        subprocess.run(["cp", "--reflink=auto", "--sparse=always", d, copy], check=True)
        lines.append("%s: type=disk, mode=flat, path=%s, cylinders=%d, heads=16, spt=63"
                     % (slots.pop(0), copy, size // CYL_BYTES))
    lines.append("boot: " + a.boot)
    lines += a.bochs_line
    return "\n".join(lines) + "\n"


class Log:
    """Incrementally reads a growing file, yielding complete lines (CR stripped)."""
    def __init__(self, path):
        self.path, self.pos, self.buf = path, 0, b""

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return b"", []
        self.pos += len(data)
        self.buf += data.replace(b"\r", b"")
        *lines, self.buf = self.buf.split(b"\n")
        return data, [l.decode(errors="replace") for l in lines]

    def rest(self):
        l, self.buf = self.buf, b""
        return [l.decode(errors="replace")] if l else []


def last_ticks(path):
    """Tick count of the last bochs.log line that carries one (lines start with 11+ digits)."""
    ticks = None
    try:
        with open(path, "rb") as f:
            for ln in f:
                m = TICK_RE.match(ln)
                if m:
                    ticks = int(m.group(1))
    except FileNotFoundError:
        pass
    return ticks


def tail(path, n, pick=None):
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip("\r\n") for l in f]
    except FileNotFoundError:
        return ["(no %s)" % os.path.basename(path)]
    if pick:
        lines = [l for l in lines if pick in l]
    return lines[-n:]


def interrupt(*_):
    raise KeyboardInterrupt


def run(a):
    # Ctrl-C, SIGTERM, SIGHUP: stop Bochs (in its own session) and report (even if SIGINT was
    # ignored when we were started in the background)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    name = a.name or os.path.basename(out)
    for f in ("serial.txt", "serial.stamped", "stdout.txt", "stdout.stamped", "bochs.log",
              "result.txt"):
        try:
            os.unlink(os.path.join(out, f))
        except FileNotFoundError:
            pass
    bochsrc, rc_file = os.path.join(out, "bochsrc"), os.path.join(out, "debugger.rc")
    with open(bochsrc, "w") as f:
        f.write(make_bochsrc(a, out))
    with open(rc_file, "w") as f:
        f.write("continue\n")      # the Debian bochs has the debugger: do not stop at its prompt
    expects = [re.compile(r) for r in a.expect]
    rejects = [re.compile(r) for r in a.reject]
    stops = [re.compile(r) for r in a.stop_on]

    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    t0 = time.time()
    with open(os.path.join(out, "stdout.txt"), "wb") as so:
        # own session: a terminal Ctrl-C reaches only us (Bochs' debugger would catch SIGINT)
        proc = subprocess.Popen(["timeout", "-k", "5", str(a.timeout), "bochs", "-q", "-f", bochsrc,
                                 "-rc", rc_file], stdin=subprocess.DEVNULL, stdout=so,
                                stderr=subprocess.STDOUT, env=env, cwd=out, start_new_session=True)
    log = Log(os.path.join(out, "stdout.txt" if a.e9 else "serial.txt"))
    stamped = open(os.path.join(out, "stdout.stamped" if a.e9 else "serial.stamped"), "w")
    n_exp, rejected, stop_at, stop_why, interrupted = 0, None, None, None, False
    first_line_s = None

    def feed(lines):
        nonlocal n_exp, rejected, stop_at, stop_why, first_line_s
        now = time.time() - t0
        for l in lines:
            stamped.write("%8.3f %s\n" % (now, l))
            if first_line_s is None and l.strip():
                first_line_s = now
            while n_exp < len(expects) and expects[n_exp].search(l):
                n_exp += 1
            for r in rejects:
                if rejected is None and r.search(l):
                    rejected = (r.pattern, l)
            if stop_at is None and (rejected or any(s.search(l) for s in stops)):
                stop_at, stop_why = time.time(), "reject" if rejected else "stop-on"

    def kill():
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(3)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    try:
        while proc.poll() is None:
            data, lines = log.read()
            if a.follow and data:
                sys.stdout.write(data.replace(b"\r", b"").decode(errors="replace"))
                sys.stdout.flush()
            feed(lines)
            if stop_at is not None and time.time() - stop_at >= a.grace:
                kill()
                break
            if time.time() - t0 > a.timeout + 10:      # backstop; `timeout` should have fired
                kill()
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        interrupted = True
        kill()
    rc = proc.wait()
    wall = time.time() - t0
    data, lines = log.read()
    if a.follow and data:
        sys.stdout.write(data.replace(b"\r", b"").decode(errors="replace"))
    feed(lines + log.rest())
    stamped.close()

    timed_out = stop_at is None and not interrupted and rc in (124, 137)
    panics = tail(os.path.join(out, "bochs.log"), 3, ">>PANIC<<")
    if interrupted:
        reason = "interrupted"
    elif timed_out:
        reason = "timeout after %g s" % a.timeout
    elif rejected:
        reason = "rejected /%s/ matched: %s" % rejected
    elif n_exp < len(expects):
        reason = "expected /%s/ not found%s" % (
            expects[n_exp].pattern, " (after /%s/)" % expects[n_exp - 1].pattern if n_exp else "")
    else:
        reason = None
    end = panics[-1].split(">>PANIC<<", 1)[-1].strip() if panics else ""
    ordinary = ("soft power off", "Shutdown port", "User requested shutdown")  # last: our SIGTERM
    if reason and end and not any(o in end for o in ordinary):
        reason += " [bochs: %s]" % end
    if not reason and not a.keep_disks:
        for i in range(len(a.disk)):
            os.unlink(os.path.join(out, "disk%d.img" % i))
    ticks = last_ticks(os.path.join(out, "bochs.log"))
    with open(os.path.join(out, "result.txt"), "w") as f:
        f.write("name=%s\nverdict=%s\nreason=%s\nbochs_rc=%s\nwall_s=%.2f\nticks=%s\n"
                "first_line_s=%s\nstopped_by=%s\nend=%s\n" % (
                    name, "FAIL" if reason else "PASS", reason or "", rc, wall,
                    ticks if ticks is not None else "", "%.2f" % first_line_s
                    if first_line_s is not None else "", stop_why or "", end))
    if not reason:
        print("PASS %s" % name)
        return 0
    print("FAIL %s: %s" % (name, reason))
    print("--- last 30 lines of %s ---" % ("stdout.txt" if a.e9 else "serial.txt"))
    print("\n".join(tail(log.path, 30)))
    last = tail(os.path.join(out, "bochs.log"), 20)
    print("--- last 20 lines of bochs.log (with earlier PANIC lines) ---")
    print("\n".join([l for l in tail(os.path.join(out, "bochs.log"), 5, ">>PANIC<<")
                     if l not in last] + last))
    sys.stdout.flush()
    return 1


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
