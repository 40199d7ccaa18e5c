#!/usr/bin/env python3
"""hypapp_check.py SERIAL_LOG -- the hypapp's init saw the boot parameters (xmhf/hypapp.h).

If the hypervisor says it runs the test hypapp (`xmhf: runtime at [...], hypapp test`), every
CPU of `xmhf: vmx root on N/N cpus` must have printed hypapps/test's init line once,
  [1] hypapp test: cpu 1 of 2, boot drive 0x81, runtime [0x10000000, 0x10400000), keys: hypapp_demo=on
with the runtime range of the `runtime at` line and the command-line key the core does not
consume (xmhf-grub-debug.img carries hypapp_demo=on). With another hypapp no such line may
appear. Prints what is wrong and exits 1, else a summary and exits 0. Used as a bxtest `check`.
"""
import re, sys

RUNTIME = re.compile(r"^\[0\] xmhf: runtime at \[(0x[0-9a-f]+), (0x[0-9a-f]+)\), .*, hypapp (\S+)\s*$")
CPUS = re.compile(r"^\[0\] xmhf: vmx root on (\d+)/\d+ cpus\s*$")
INIT = re.compile(r"^\[(\d+)\] hypapp test: (.*?)\s*$")

# CRs removed; a NUL (the loader's hand-off) may join two lines
lines = re.split(r"[\n\0]", open(sys.argv[1], errors="replace").read().replace("\r", ""))
runtime = next((m for m in map(RUNTIME.match, lines) if m), None)
cpus = next((int(m[1]) for m in map(CPUS.match, lines) if m), None)
inits = [m for m in map(INIT.match, lines) if m and not m[2].startswith("guest shutdown")]
if not runtime or cpus is None:
    sys.exit("hypapp_check: no `runtime at ... hypapp NAME` or `vmx root on N/N cpus` line")
if runtime[3] != "test":
    if inits:
        sys.exit("hypapp_check: hypapp %s, but a test hypapp line: %s" % (runtime[3], inits[0][0]))
    print("hypapp_check: hypapp %s, no test hypapp lines" % runtime[3])
    sys.exit(0)
for cpu in range(cpus):
    want = "cpu %d of %d, boot drive 0x81, runtime [%s, %s), keys: hypapp_demo=on" % (
        cpu, cpus, runtime[1], runtime[2])
    got = [m[2] for m in inits if int(m[1]) == cpu]
    if got != [want]:
        sys.exit("hypapp_check: cpu %d: init lines %r, want [%r]" % (cpu, got, want))
print("hypapp_check: the test hypapp's init ran once on each of %d CPUs with the boot parameters" % cpus)
