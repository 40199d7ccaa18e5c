#!/usr/bin/python3
"""tools/evlog/evlog.py on logs recorded from the evlog-*.case runs (testdata/)."""
import contextlib
import io
import os
import tempfile
import unittest

import evlog

HERE = os.path.dirname(os.path.abspath(__file__))
LINUX = os.path.join(HERE, "testdata", "linux-2cpu.log")
CHECKS = os.path.join(HERE, "testdata", "checks-2cpu.log")


def read(path):
    with open(path) as f:
        return f.read()


def run_main(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = evlog.main(list(argv))
    return rc, out.getvalue()


class Parse(unittest.TestCase):
    def test_linux_blocks(self):
        blocks = evlog.parse_files([LINUX])
        self.assertEqual([(b.cpu, b.seq) for b in blocks], [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)])
        self.assertEqual([b.why for b in blocks if b.cpu == 0], ["periodic"] * 3 + ["ACPI sleep"])
        final0 = blocks[3]
        self.assertEqual(final0.exits["CPUID"], sum(final0.keys["cpuid"].values()))
        self.assertEqual(final0.keys["io_port"][0xcf8], max(final0.keys["io_port"].values()))
        self.assertEqual(final0.counters["rewalks"], 0)

    def test_checks_counters(self):
        blocks = evlog.parse_files([CHECKS])
        self.assertEqual(len(blocks), 2)
        total = {c: sum(b.counters[c] for b in blocks) for c in blocks[0].counters}
        # every quiesce stops the other CPU once; each shootdown is applied on both CPUs
        self.assertEqual(total["stops"], total["quiesces"])
        self.assertEqual(total["shootdowns_applied"], 2 * total["shootdowns_sent"])
        self.assertEqual(sum(b.exits["EXCEPTION_NMI"] for b in blocks),
                         sum(b.keys["exception"][2] for b in blocks))

    def test_tag_in_the_middle_of_a_line(self):
        text = read(CHECKS).replace("[0] evlog 1.0| seq: 0", "GUEST-partial output[0] evlog 1.0| seq: 0")
        self.assertEqual(len(evlog.parse_text(text)), 2)

    def test_incomplete_block(self):
        text = "\n".join(l for l in read(CHECKS).splitlines() if l != "[0] evlog 1.0| ...")
        with self.assertRaisesRegex(evlog.EvlogError, "block 1.0: incomplete"):
            evlog.parse_text(text)

    def test_garbled_line(self):
        text = read(CHECKS).replace("[0] evlog 1.0|   CPUID: 5", "[0] evlog 1.0|   CPUID: 5: x: [")
        with self.assertRaisesRegex(evlog.EvlogError, "block 1.0: not YAML"):
            evlog.parse_text(text)


class Check(unittest.TestCase):
    def test_recorded_logs_pass(self):
        for log in (LINUX, CHECKS):
            self.assertEqual(evlog.check(evlog.parse_files([log])), [], log)

    def test_count_going_down(self):
        blocks = evlog.parse_files([LINUX])
        blocks[2].exits["CPUID"] = blocks[1].exits["CPUID"] - 1
        self.assertIn(f"cpu 0: block 2: exit CPUID went down ({blocks[1].exits['CPUID']} -> "
                      f"{blocks[2].exits['CPUID']})", evlog.check(blocks))

    def test_no_final_block(self):
        blocks = [b for b in evlog.parse_files([LINUX]) if b.why == "periodic"]
        self.assertIn("cpu 0: no final (power-off) block", evlog.check(blocks))
        self.assertIn("cpu 1: no final (power-off) block", evlog.check(blocks))

    def test_missing_cpu_and_gap(self):
        blocks = [b for b in evlog.parse_files([LINUX]) if b.cpu == 1 or b.seq != 1]
        problems = evlog.check([b for b in blocks])
        self.assertIn("cpu 0: block numbers [0, 2, 3] not 0, 1, ...", problems)
        only1 = [b for b in evlog.parse_files([LINUX]) if b.cpu == 1]
        self.assertIn("CPUs with blocks: [1], expected 0..1", evlog.check(only1))

    def test_nonzero(self):
        self.assertEqual(evlog.check(evlog.parse_files([CHECKS]), ["quiesces", "nmi_injected"]), [])
        self.assertEqual(evlog.check(evlog.parse_files([LINUX]), ["quiesces"]),
                         ["counter quiesces is 0 on every CPU"])

    def test_main_exit_status(self):
        self.assertEqual(run_main("--check", CHECKS, "--nonzero", "stops"), (0, "evlog: 2 blocks fine\n"))
        rc, out = run_main("--check", LINUX, "--nonzero", "rewalks")
        self.assertEqual((rc, out), (1, "evlog: counter rewalks is 0 on every CPU\n"))
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("no blocks here\n")
            f.flush()
            self.assertEqual(run_main("--check", f.name), (1, "evlog: no event-logger blocks\n"))


class Report(unittest.TestCase):
    def test_summary(self):
        blocks = evlog.parse_files([CHECKS])
        text = evlog.summary(blocks)
        n0 = sum(blocks[0].exits.values())
        self.assertRegex(text, rf"\n +0 +{n0} +{blocks[0].tsc} ")
        self.assertIn(f" all {sum(sum(b.exits.values()) for b in blocks):>12}", text)
        self.assertRegex(text, r"top exit reasons:\n  EPT_VIOLATION ")
        self.assertIn("quiesces=", text)

    def test_summary_sums_nested_counters(self):
        text = read(CHECKS)
        for cpu, (reflected, l0, misses) in enumerate([(3, 10, 5), (4, 20, 6)]):
            for name, v in [("nested_reflected", reflected), ("nested_l0", l0), ("ept02_misses", misses)]:
                text = text.replace(f"evlog {cpu}.0|   {name}: 0", f"evlog {cpu}.0|   {name}: {v}")
        text = evlog.summary(evlog.parse_text(text))
        for expected in ("ept02_misses=11", "nested_l0=30", "nested_reflected=7"):
            self.assertIn(expected, text)

    def test_intervals(self):
        bs = evlog.by_cpu(evlog.parse_files([LINUX]))[(LINUX, 0)]
        iv = evlog.intervals(bs)
        self.assertEqual(len(iv), 4)
        for r in bs[-1].exits:
            self.assertEqual(sum(d.get(r, 0) for _, d in iv), bs[-1].exits[r])

    def test_plot_writes_png(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.png")
            rc, out = run_main(LINUX, CHECKS, "--plot", path)
            self.assertEqual(rc, 0)
            self.assertIn(f"plot: {path}", out)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main()
