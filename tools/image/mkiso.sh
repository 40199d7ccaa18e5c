#!/bin/bash
# mkiso.sh XMHF_ELF OUT.iso [--boot-drive 0x80] [--cmdline "extra args"] [--grub-serial]
#
# The CD-ROM counterpart of mkgrubimg.sh: a GRUB El Torito ISO (grub-mkrescue, no --compress:
# xz-compressed modules double GRUB's time in Bochs) with /boot/xmhf.elf and a grub.cfg that
# boots at once:
#   multiboot /boot/xmhf.elf serial=115200,8n1,0x3f8 boot_drive=BD <extra>
#   module --nounzip (hdM)+1          # M = BD - 0x80
#   boot
# The Bochs BIOS gives a CD-ROM no 0x8N number, so the guest disk is the first hard disk, 0x80.
# --grub-serial shows GRUB's own messages on COM1 (debugging only).
# Needs: grub-pc-bin grub-common xorriso mtools
set -euo pipefail
usage() { sed -n '2,13p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
ELF=$1 OUT=$2; shift 2
BD=0x80 EXTRA= GSERIAL=0
while [ $# -gt 0 ]; do
  case $1 in
    --boot-drive) BD=$2; shift 2 ;;
    --cmdline) EXTRA=$2; shift 2 ;;
    --grub-serial) GSERIAL=1; shift ;;
    *) usage ;;
  esac
done
[ -f "$ELF" ] || { echo "mkiso: missing $ELF" >&2; exit 1; }
for t in grub-mkrescue xorriso mformat; do
  command -v $t >/dev/null || { echo "mkiso: missing $t (tools/deps.sh installs it)" >&2; exit 1; }
done
grub-file --is-x86-multiboot "$ELF" || { echo "mkiso: $ELF is not a multiboot v1 kernel" >&2; exit 1; }

W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/iso/boot/grub"
cp "$ELF" "$W/iso/boot/xmhf.elf"
"$(dirname "$0")/grubcfg.sh" "$BD" "$GSERIAL" "$EXTRA" > "$W/iso/boot/grub/grub.cfg"
# only the modules grub.cfg needs (grub-mkrescue adds their dependencies): a smaller ISO
MODS="normal configfile multiboot boot test echo iso9660 biosdisk part_msdos serial terminal"
grub-mkrescue -o "$OUT" "$W/iso" --install-modules="$MODS" --locales= --fonts= --themes= \
  >"$W/log" 2>&1 || { cat "$W/log" >&2; exit 1; }
echo "mkiso: $OUT ($(stat -c %s "$OUT") bytes)"
