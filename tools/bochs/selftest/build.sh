#!/bin/sh
# build.sh OUT.elf -- build the self-test multiboot kernel (32-bit ELF, loaded at 1 MiB).
set -eu
SRC=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: build.sh OUT.elf}
gcc -m32 -O2 -ffreestanding -fno-pie -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables \
    -fno-builtin -nostdlib -Wall -Wextra -c "$SRC/kernel.c" -o "$OUT.o"
ld -m elf_i386 -n -nostdlib -z noexecstack --no-warn-rwx-segments -T "$SRC/link.ld" -o "$OUT" "$OUT.o"
rm -f "$OUT.o"
grub-file --is-x86-multiboot "$OUT"
