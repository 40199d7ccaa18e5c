#!/bin/bash
# grubcfg.sh BOOT_DRIVE GRUB_SERIAL [EXTRA_ARGS] -- print the grub.cfg of our images: one
# entry (timeout 0) that multiboots /boot/xmhf.elf and passes the MBR of BIOS disk
# BOOT_DRIVE (0x80..0x8f, GRUB's hd(BOOT_DRIVE-0x80)) as the guest's boot sector.
# GRUB_SERIAL=1 also sends GRUB's own output to COM1.
set -euo pipefail
BD=$1 GSERIAL=$2 EXTRA=${3:-}
GUEST_HD=$(( BD - 0x80 ))
[ $GUEST_HD -ge 0 ] && [ $GUEST_HD -lt 16 ] || { echo "grubcfg: bad boot drive $BD" >&2; exit 2; }
if [ "$GSERIAL" = 1 ]; then
  echo "serial --unit=0 --speed=115200"
  echo "terminal_output serial console"
fi
cat <<CFG
set timeout=0
set default=0
menuentry "xmhf" {
  multiboot /boot/xmhf.elf serial=115200,8n1,0x3f8 boot_drive=$BD${EXTRA:+ $EXTRA}
  module --nounzip (hd$GUEST_HD)+1
  boot
}
CFG
