#!/bin/bash
# qemu-smoke.sh FAT.img HV_BASE HV_END ENTRY OUTDIR [TIMEOUT_S]
#
# The UEFI smoke test: QEMU (TCG: the CPU has no VMX) with Debian's OVMF boots the FAT image of
# tools/uefi/mkfatimg.sh; the UEFI shell runs its startup.nsh: xmhf.efi, our efi-marker.efi,
# xmhf.efi keep_reserved=on, the marker again, then `reset -s` powers off. Decided from the
# serial log (OUTDIR/serial.log), in this order:
#   1. xmhf.efi reserves [HV_BASE, HV_END), places the runtime there (entry ENTRY), reports
#      "xmhf: VT-x not available", gives the range back and returns EFI_UNSUPPORTED;
#   2. the firmware goes on: the marker starts and finds the range NOT reserved;
#   3. xmhf.efi keep_reserved=on: the same, but the range stays reserved;
#   4. the marker finds [HV_BASE, HV_END) as EfiReservedMemoryType in the UEFI memory map, and
#      the runtime's header at HV_BASE.
# Runs on a copy of the image and of the OVMF variable store. Exit 0 iff all hold.
# Needs: qemu-system-x86 ovmf
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
IMG=$1 BASE=$2 END=$3 ENTRY=$(printf '0x%x' "$4") OUT=$5 TIMEOUT=${6:-60}
OVMF=/usr/share/OVMF
for f in "$OVMF/OVMF_CODE_4M.fd" "$OVMF/OVMF_VARS_4M.fd" "$IMG"; do
  [ -f "$f" ] || { echo "qemu-smoke: missing $f (tools/deps.sh installs ovmf)" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-smoke: missing qemu-system-x86_64" >&2; exit 1; }
mkdir -p "$OUT"
cp "$OVMF/OVMF_VARS_4M.fd" "$OUT/vars.fd"
cp "$IMG" "$OUT/disk.img"
LOG=$OUT/serial.log
rm -f "$LOG"
# -cpu qemu64: no VMX under TCG; -nic none: no PXE attempt before the shell
rc=0
timeout "$TIMEOUT" qemu-system-x86_64 -machine pc -cpu qemu64 -m 512 -smp 1 -accel tcg \
  -drive if=pflash,format=raw,readonly=on,file="$OVMF/OVMF_CODE_4M.fd" \
  -drive if=pflash,format=raw,file="$OUT/vars.fd" \
  -drive format=raw,file="$OUT/disk.img" \
  -nic none -display none -monitor none -serial file:"$LOG" -no-reboot || rc=$?
[ "$rc" = 124 ] && echo "qemu-smoke: QEMU did not power off within ${TIMEOUT}s (see $LOG)"
base_hex=$(printf '0x%x' "$BASE") end_hex=$(printf '0x%x' "$END")
R="hypervisor range [$base_hex, $end_hex)"
# the log's lines of interest, in order, without CRs and terminal escapes
EXPECTED="xmhf: uefi loader: cmdline ''
xmhf: uefi loader: reserved the $R as EfiReservedMemoryType
xmhf: uefi loader: runtime placed at [$base_hex, $end_hex), entry $ENTRY
xmhf: VT-x not available: the CPU reports no VMX (CPUID.1:ECX.VMX = 0)
xmhf: uefi loader: returning EFI_UNSUPPORTED to the firmware
efi-marker: started by the firmware
efi-marker: $R is NOT reserved (UEFI memory type 7 there)
xmhf: uefi loader: cmdline 'keep_reserved=on'
xmhf: uefi loader: reserved the $R as EfiReservedMemoryType
xmhf: uefi loader: runtime placed at [$base_hex, $end_hex), entry $ENTRY
xmhf: VT-x not available: the CPU reports no VMX (CPUID.1:ECX.VMX = 0)
xmhf: uefi loader: keep_reserved=on: the range stays reserved
xmhf: uefi loader: returning EFI_UNSUPPORTED to the firmware
efi-marker: started by the firmware
efi-marker: $R is EfiReservedMemoryType
efi-marker: the runtime's header is at $base_hex"
# each line comes twice from xmhf.efi (serial console "[L] ..." and ConOut, which OVMF also
# sends to the serial port): keep the ConOut copies
tr -d '\r' < "$LOG" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -E '^(xmhf|efi-marker): ' > "$OUT/got.txt" || true
if [ "$(cat "$OUT/got.txt")" = "$EXPECTED" ] && grep -qF "[L] xmhf: VT-x not available" "$LOG"; then
  echo "qemu-smoke: ok: VT-x not available, EFI_UNSUPPORTED, the firmware went on to the marker twice," \
    "the range free after the first run, EfiReservedMemoryType with the runtime's header in it after keep_reserved=on"
  echo "qemu-smoke: 1 passed, 0 failed"
  exit 0
fi
echo "qemu-smoke: FAILED: the serial log ($LOG) differs from what was expected:"
diff <(echo "$EXPECTED") "$OUT/got.txt" || true
echo "qemu-smoke: 0 passed, 1 failed"
exit 1
