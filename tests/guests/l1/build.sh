#!/bin/bash
# build.sh OUTDIR [CMDLINE]
#   Builds the l1 guest, a small 32-bit VMM that runs a VMX test matrix on every CPU:
#   OUTDIR/l1.elf (multiboot v1 at 1 MiB) and OUTDIR/l1-disk.img, a BIOS disk whose GRUB multiboots
#   it with CMDLINE (e.g. 'bench=1000': N CPUIDs in L2 timed after the matrix). It boots as BIOS
#   disk 0x80 (bare Bochs is L0) or 0x81 (under the hypervisor), like the checks guest, whose
#   boot, console, ACPI, APIC/AP start, IDT, TSS descriptor and check-result code it compiles in.
# Run on bare Bochs: tools/bochs/bxtest.py --build BUILD --only 'l1-bare' tests/bochs/*.case
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
OUT=$1 CMDLINE=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
CHECKS=$HERE/../checks
ROOT=$(cd "$HERE/../../.." && pwd)
mkdir -p "$OUT/obj"

CFLAGS="-m32 -O2 -g -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -nostdlib
  -fno-builtin -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only
  --param=min-pagesize=0 -Wall -Wextra -Werror -I$HERE -I$CHECKS -I$ROOT/hypapps/trustvisor
  -I$ROOT/hypapps/trustvisor/pal_demo"
objs=()
for src in "$CHECKS"/{boot.S,console.c,acpi.c,idt.c,report.c,apic.c,tss.c} \
           "$HERE"/{main.c,cpu.c,vmxon.c,vmxinsn.c,fields.c,ept.c,l2.c,l2tests.c,l2modes.c,interleave.c,stale.c,pal_l2.c,init.c}; do
  obj=$OUT/obj/$(basename "$(dirname "$src")")-$(basename "${src%.*}").o
  gcc $CFLAGS -c "$src" -o "$obj"
  objs+=("$obj")
done
ld -m elf_i386 -n -nostdlib -z noexecstack --no-warn-rwx-segments -T "$CHECKS/linker.ld" \
  -o "$OUT/l1.elf" "${objs[@]}"
grub-file --is-x86-multiboot "$OUT/l1.elf"
"$ROOT/tools/image/mkbootdisk.sh" "$OUT/l1.elf" "$OUT/l1-disk.img" l1 "$CMDLINE"
echo "build.sh: $OUT/l1-disk.img ($(stat -c %s "$OUT/l1-disk.img") bytes), cmdline '$CMDLINE'"
