#!/bin/bash
# mkbootdisk.sh KERNEL_ELF OUT.img NAME [CMDLINE] -- a BIOS disk whose GRUB multiboots
# KERNEL_ELF (as /boot/NAME.elf) with CMDLINE: for our own test guests, which the hypervisor
# boots from the next disk. It is mkgrubimg.sh's disk with its grub.cfg replaced; GRUB finds
# its partition by /boot/NAME.elf, so it boots as BIOS disk 0x80 or 0x81.
set -euo pipefail
[ $# -ge 3 ] && [ $# -le 4 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
ELF=$1 IMG=$2 NAME=$3 CMDLINE=${4:-}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
"$(dirname "$0")/mkgrubimg.sh" "$ELF" "$IMG" >/dev/null
cat > "$W/grub.cfg" <<CFG
set timeout=0
set default=0
search --no-floppy --file --set=root /boot/$NAME.elf
menuentry "$NAME" {
  multiboot /boot/$NAME.elf $CMDLINE
  boot
}
CFG
mcopy -o -i "$IMG@@1M" "$ELF" "::/boot/$NAME.elf"
mcopy -o -i "$IMG@@1M" "$W/grub.cfg" ::/boot/grub/grub.cfg
