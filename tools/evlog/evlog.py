#!/usr/bin/python3
"""Read the event logger's blocks from serial logs (docs/evlog.md).

    evlog.py LOG...                 summary table per CPU and total
    evlog.py LOG... --plot OUT.png  also a timeline: exits per interval by reason,
                                    shootdowns and rewalks marked
    evlog.py LOG --check            exit 1 with the first problem (a Bochs case `check`)

Each block line is "[P] evlog CPU.SEQ| YAML LINE" (P: the printing CPU); a line
may start in the middle of another's output, so the tag is searched anywhere."""
import argparse
import re
import sys
from dataclasses import dataclass, field

import yaml

LINE = re.compile(r"\[(?:\d+|L)\] evlog (\d+)\.(\d+)\| (.*)$")
# counters whose changes the plot marks
MARKED = ("shootdowns_sent", "rewalks", "quiesces")


@dataclass
class Block:
    log: str
    cpu: int
    seq: int
    why: str = ""
    tsc: int = 0
    exits: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)  # kind -> {key: count}
    counters: dict = field(default_factory=dict)


class EvlogError(Exception):
    pass


def parse_text(text, log="log"):
    """Blocks of one log, in order of (cpu, seq); EvlogError for an incomplete
    or unreadable block."""
    lines = {}
    for raw in text.splitlines():
        m = LINE.search(raw.rstrip("\r"))
        if m:
            lines.setdefault((int(m[1]), int(m[2])), []).append(m[3])
    blocks = []
    for (cpu, seq), body in sorted(lines.items()):
        where = f"{log}: block {cpu}.{seq}"
        if body[0] != "---" or body[-1] != "...":
            raise EvlogError(f"{where}: incomplete (no '---' ... '...' around it)")
        try:
            doc = yaml.safe_load("\n".join(body[1:-1]))
        except yaml.YAMLError as e:
            raise EvlogError(f"{where}: not YAML: {e}".splitlines()[0]) from None
        if not isinstance(doc, dict) or doc.get("cpu") != cpu or doc.get("seq") != seq:
            raise EvlogError(f"{where}: cpu/seq keys do not match its tag")
        b = Block(log, cpu, seq, str(doc.pop("why", "")), int(doc.pop("tsc", 0)),
                  dict(doc.pop("exits", None) or {}), {}, dict(doc.pop("counters", None) or {}))
        for kind in ("cpu", "seq"):
            doc.pop(kind)
        b.keys = {kind: dict(v or {}) for kind, v in doc.items()}
        blocks.append(b)
    return blocks


def parse_files(paths):
    blocks = []
    for p in paths:
        with open(p, errors="replace") as f:
            blocks += parse_text(f.read(), p)
    return blocks


def by_cpu(blocks):
    """{(log, cpu): [blocks in seq order]}"""
    out = {}
    for b in blocks:
        out.setdefault((b.log, b.cpu), []).append(b)
    return out


def check(blocks, nonzero=()):
    """The problems of a log's blocks (empty: fine): per CPU, sequence numbers
    0, 1, ...; TSC and every count never decrease; the last block is the
    power-off's (not periodic); every CPU up to the highest has blocks; the
    counters named in 'nonzero' are above 0 in the sum of the last blocks."""
    if not blocks:
        return ["no event-logger blocks"]
    problems = []
    series = by_cpu(blocks)
    cpus = sorted({cpu for _, cpu in series})
    if cpus != list(range(len(cpus))):
        problems.append(f"CPUs with blocks: {cpus}, expected 0..{max(cpus)}")
    for (log, cpu), bs in sorted(series.items()):
        if [b.seq for b in bs] != list(range(len(bs))):
            problems.append(f"cpu {cpu}: block numbers {[b.seq for b in bs]} not 0, 1, ...")
        if bs[-1].why == "periodic":
            problems.append(f"cpu {cpu}: no final (power-off) block")
        for a, b in zip(bs, bs[1:]):
            if b.tsc < a.tsc:
                problems.append(f"cpu {cpu}: block {b.seq}: TSC went down")
            for what, old, new in [("exit", a.exits, b.exits), ("counter", a.counters, b.counters)] + \
                    [(k, a.keys.get(k, {}), b.keys.get(k, {})) for k in a.keys]:
                for k, v in old.items():
                    if new.get(k, 0) < v:
                        problems.append(f"cpu {cpu}: block {b.seq}: {what} {k} went down ({v} -> {new.get(k, 0)})")
        if not sum(bs[-1].exits.values()):
            problems.append(f"cpu {cpu}: no exits counted")
    for c in nonzero:
        if not sum(bs[-1].counters.get(c, 0) for bs in series.values()):
            problems.append(f"counter {c} is 0 on every CPU")
    return problems


def top(d, n):
    return sorted(d.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]


def fmt_key(kind, k):
    return f"{kind} {k:#x}" if isinstance(k, int) else f"{kind} {k}"


def summary(blocks, n_top=8):
    """The summary table (text) of every log's last block per CPU."""
    out = []
    for log in sorted({b.log for b in blocks}):
        finals = [bs[-1] for (lg, _), bs in sorted(by_cpu(blocks).items()) if lg == log]
        out.append(f"== {log}: {len(finals)} CPU(s)")
        total = {"exits": 0, "ticks": 0}
        reasons, keys, counters = {}, {}, {}
        out.append(f"{'cpu':>4} {'exits':>12} {'ticks':>14} {'exits/Mtick':>12}  top reason")
        for b in finals:
            n = sum(b.exits.values())
            rate = n * 1e6 / b.tsc if b.tsc else 0.0
            first = top(b.exits, 1)
            out.append(f"{b.cpu:>4} {n:>12} {b.tsc:>14} {rate:>12.1f}  " +
                       (f"{first[0][0]} ({first[0][1]})" if first else "-"))
            total["exits"] += n
            total["ticks"] = max(total["ticks"], b.tsc)
            for r, v in b.exits.items():
                reasons[r] = reasons.get(r, 0) + v
            for kind, d in b.keys.items():
                for k, v in d.items():
                    keys[(kind, k)] = keys.get((kind, k), 0) + v
            for c, v in b.counters.items():
                counters[c] = counters.get(c, 0) + v
        rate = total["exits"] * 1e6 / total["ticks"] if total["ticks"] else 0.0
        out.append(f"{'all':>4} {total['exits']:>12} {total['ticks']:>14} {rate:>12.1f}")
        out.append("top exit reasons:")
        for r, v in top(reasons, n_top):
            out.append(f"  {r:<24} {v:>10} {v * 1e6 / total['ticks'] if total['ticks'] else 0:>10.1f}/Mtick")
        out.append("top keys:")
        for (kind, k), v in top({k: v for k, v in keys.items() if k[1] != "other"}, n_top):
            out.append(f"  {fmt_key(kind, k):<24} {v:>10}")
        nonzero = {c: v for c, v in counters.items() if v}
        out.append("counters: " + (", ".join(f"{c}={v}" for c, v in sorted(nonzero.items())) or "all 0"))
    return "\n".join(out)


def intervals(bs):
    """[(tsc, {reason: exits since the previous block})] of one CPU's blocks."""
    prev, out = {}, []
    for b in bs:
        out.append((b.tsc, {r: v - prev.get(r, 0) for r, v in b.exits.items() if v - prev.get(r, 0)}))
        prev = b.exits
    return out


def plot(blocks, path, n_reasons=6):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = sorted(by_cpu(blocks).items())
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 2.8 * len(series)), squeeze=False, sharex=True)
    totals = {}
    for _, bs in series:
        for r, v in bs[-1].exits.items():
            totals[r] = totals.get(r, 0) + v
    shown = [r for r, _ in top(totals, n_reasons)]
    for ax, ((log, cpu), bs) in zip(axes[:, 0], series):
        iv = intervals(bs)
        xs = [t / 1e6 for t, _ in iv]
        for r in shown:
            ax.plot(xs, [d.get(r, 0) for _, d in iv], marker="o", label=r)
        ax.plot(xs, [sum(v for k, v in d.items() if k not in shown) for _, d in iv],
                marker=".", linestyle=":", label="other")
        for a, b in zip(bs, bs[1:]):
            for c in MARKED:
                if b.counters.get(c, 0) > a.counters.get(c, 0):
                    ax.axvline(b.tsc / 1e6, color="red" if c != "rewalks" else "purple", alpha=0.4)
        ax.set_title(f"cpu {cpu} ({log})", fontsize=9)
        ax.set_ylabel("exits / interval")
        ax.set_yscale("symlog")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("TSC (M ticks); red: shootdowns or quiesces, purple: rewalks")
    axes[0, 0].legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--plot", metavar="PNG")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--nonzero", action="append", default=[], metavar="COUNTER",
                    help="with --check: this counter must be above 0 (repeatable)")
    ap.add_argument("--top", type=int, default=8)
    a = ap.parse_args(argv)
    try:
        blocks = parse_files(a.logs)
    except (EvlogError, OSError) as e:
        print(f"evlog: {e}")
        return 1
    if a.check:
        problems = check(blocks, a.nonzero)
        for p in problems:
            print(f"evlog: {p}")
        if not problems:
            print(f"evlog: {len(blocks)} blocks fine")
        return 1 if problems else 0
    print(summary(blocks, a.top))
    if a.plot:
        plot(blocks, a.plot)
        print(f"plot: {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
