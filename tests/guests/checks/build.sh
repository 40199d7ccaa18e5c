#!/bin/bash
# build.sh OUTDIR [CMDLINE]
#   Builds the checks guest: OUTDIR/checks.elf (multiboot v1, 32-bit, at 1 MiB) and
#   OUTDIR/checks-disk.img, a BIOS disk whose GRUB (timeout 0) multiboots checks.elf with CMDLINE
#   (default 'expect=bare'), e.g.  build.sh OUT 'expect=xmhf hv_base=0x10000000 hv_end=0x10200000'
#   The image boots as BIOS disk 0x80 or 0x81: its GRUB finds its own partition by the file
#   /boot/checks.elf, which the hypervisor's disk does not have.
#   Also OUTDIR/chain81-disk.img (chainloads the next disk) for the 0x81 test.
# Run on bare Bochs: `make guests` builds BUILD/bare-checks (expect=bare), then
#   tools/bochs/bxtest.py --build BUILD tests/bochs/checks-bare-*.case
# or one run by hand:
#   tools/bochs/bxrun.py --out BUILD/run --disk BUILD/checks/checks-disk.img --cpus 2 \
#     --expect '^CHECKS-DONE pass=[0-9]+ fail=0$' --reject '^CHECK .*: FAIL'
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
OUT=$1 CMDLINE=${2:-expect=bare}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
mkdir -p "$OUT/obj"

CFLAGS="-m32 -O2 -g -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -nostdlib
  -fno-builtin -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only
  --param=min-pagesize=0 -Wall -Wextra -Werror"
objs=()
for src in boot.S main.c console.c acpi.c idt.c report.c apic.c checks.c smp.c insn.c paging.c tss.c memory.c longmode.c msr.c hvcons.c hypapp.c; do
  obj=$OUT/obj/${src%.*}.o
  gcc $CFLAGS -c "$HERE/$src" -o "$obj"
  objs+=("$obj")
done
ld -m elf_i386 -n -nostdlib -z noexecstack --no-warn-rwx-segments -T "$HERE/linker.ld" \
  -o "$OUT/checks.elf" "${objs[@]}"
grub-file --is-x86-multiboot "$OUT/checks.elf"

IMG=$OUT/checks-disk.img
"$ROOT/tools/image/mkbootdisk.sh" "$OUT/checks.elf" "$IMG" checks "$CMDLINE"
# chain81-disk.img: a GRUB disk that only chainloads the next disk's MBR, so that the checks
# disk can be tested as BIOS disk 0x81 (as under the hypervisor) on bare Bochs.
"$ROOT/tools/image/mkgrubimg.sh" "$OUT/checks.elf" "$OUT/chain81-disk.img" >/dev/null
printf 'set timeout=0\ninsmod chain\nset root=(hd1)\nchainloader +1\nboot\n' > "$OUT/chain81.cfg"
mcopy -o -i "$OUT/chain81-disk.img@@1M" "$OUT/chain81.cfg" ::/boot/grub/grub.cfg
echo "build.sh: $IMG ($(stat -c %s "$IMG") bytes), cmdline '$CMDLINE'"
