#!/bin/bash
# build.sh OUTDIR
#   Builds the bench guest (tools/bench/vmexit.sh): OUTDIR/bench.elf (multiboot v1, 32-bit, at
#   1 MiB) and OUTDIR/bench-disk.img, a BIOS disk whose GRUB (timeout 0) multiboots it. Like the
#   checks guest (tests/guests/checks/build.sh) it boots as BIOS disk 0x80 (bare) or 0x81 (under
#   the hypervisor): its GRUB finds its own partition by the file /boot/bench.elf.
set -euo pipefail
[ $# -eq 1 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
mkdir -p "$OUT"
CFLAGS="-m32 -O2 -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -nostdlib
  -fno-builtin -fno-asynchronous-unwind-tables -mgeneral-regs-only -Wall -Wextra -Werror"
gcc $CFLAGS -c "$HERE/boot.S" -o "$OUT/boot.o"
gcc $CFLAGS -c "$HERE/bench.c" -o "$OUT/bench.o"
ld -m elf_i386 -n -nostdlib -z noexecstack --no-warn-rwx-segments -T "$HERE/linker.ld" \
  -o "$OUT/bench.elf" "$OUT/boot.o" "$OUT/bench.o" "$(gcc -m32 -print-libgcc-file-name)"
grub-file --is-x86-multiboot "$OUT/bench.elf"
IMG=$OUT/bench-disk.img
"$ROOT/tools/image/mkbootdisk.sh" "$OUT/bench.elf" "$IMG" bench
echo "bench guest: $IMG"
