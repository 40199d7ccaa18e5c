#!/bin/bash
# mkfatimg.sh OUT.img XMHF_EFI MARKER_EFI HV_BASE HV_END
#
# The FAT image of the UEFI smoke test and of a first try on a real machine, without root or
# loop mounts (mtools): a whole-disk FAT ("superfloppy") that UEFI firmware reads as it is:
#   /EFI/xmhf/xmhf.efi        the UEFI loader
#   /EFI/xmhf/efi-marker.efi  our EFI payload (tests/guests/efi-marker/)
#   /startup.nsh              what the UEFI shell runs: xmhf.efi, the marker; xmhf.efi again with
#                             keep_reserved=on (the range stays reserved when VT-x is missing), the
#                             marker; then power off
# The boot order is the shell's script: OVMF boots its built-in shell when no disk holds
# \EFI\BOOT\BOOTX64.EFI, and the shell runs startup.nsh from fs0:, line after line, each
# image's return handing over to the next line.
# Needs: mtools
set -euo pipefail
[ $# = 5 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
OUT=$1 XMHF=$2 MARKER=$3 BASE=$4 END=$5
for t in mformat mcopy mmd; do
  command -v $t >/dev/null || { echo "mkfatimg: missing $t (tools/deps.sh installs mtools)" >&2; exit 1; }
done
SIZE_MIB=16
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
MARKER_RUN="\\EFI\\xmhf\\efi-marker.efi hv_base=$BASE hv_end=$END"
printf '%s\r\n' '@echo -off' 'fs0:' '\EFI\xmhf\xmhf.efi' "$MARKER_RUN" '\EFI\xmhf\xmhf.efi keep_reserved=on' \
  "$MARKER_RUN" 'reset -s' > "$W/startup.nsh"
rm -f "$OUT.tmp"
truncate -s ${SIZE_MIB}M "$OUT.tmp"
# 16 MiB = 32 cylinders x 16 heads x 64 sectors of 512 bytes
mformat -i "$OUT.tmp" -t 32 -h 16 -s 64 -v XMHF ::
mmd -i "$OUT.tmp" ::/EFI ::/EFI/xmhf
mcopy -i "$OUT.tmp" "$XMHF" ::/EFI/xmhf/xmhf.efi
mcopy -i "$OUT.tmp" "$MARKER" ::/EFI/xmhf/efi-marker.efi
mcopy -i "$OUT.tmp" "$W/startup.nsh" ::/startup.nsh
mv "$OUT.tmp" "$OUT"
