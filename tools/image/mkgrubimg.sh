#!/bin/bash
# mkgrubimg.sh XMHF_ELF OUT.img [--boot-drive 0x81] [--cmdline "extra args"] [--size MiB] [--grub-serial]
#
# Build a BIOS hard-disk image that boots a multiboot v1 kernel with GRUB, without root:
#   LBA 0        GRUB boot.img (MBR code) + partition table
#   LBA 1..2047  GRUB core.img (grub-mkimage -O i386-pc, default LZMA only, no xz)
#   LBA 2048..   partition 1, FAT (mtools): /boot/xmhf.elf, /boot/grub/grub.cfg
# The size is a multiple of 516096 bytes (16 heads x 63 sectors), as Bochs flat images need.
#
# GRUB finds its own partition on whatever BIOS disk it was booted from: core.img is patched the
# way grub-install does it (install partition = msdos1, prefix without a device), so GRUB's $root
# starts as (hdN,msdos1) of the boot disk; the embedded config then confirms it with a search for
# /boot/xmhf.elf, trying that partition first (--hint) and any other disk after it.
#
# grub.cfg boots at once (timeout=0):
#   multiboot /boot/xmhf.elf serial=115200,8n1,0x3f8 boot_drive=BD <extra>
#   module --nounzip (hdM)+1          # M = BD - 0x80: the guest disk's MBR
#   boot
# If disk hdM is absent, `module` prints an error and GRUB still runs `boot`.
#
# Options:
#   --boot-drive BD  BIOS number of the guest disk (default 0x81: this image is 0x80, guest 0x81)
#   --cmdline ARGS   extra hypervisor arguments appended to the multiboot line
#   --size MiB       partition size (default: kernel + GRUB modules + 8 MiB free for mcopy)
#   --grub-serial    also show GRUB's own messages on COM1 (for debugging a boot that never
#                    reaches the kernel; costs ~5 M instructions and adds ANSI escapes)
#
# Replace files later without rebuilding (the partition starts at 1 MiB):
#   mcopy -o -i OUT.img@@1M new.elf ::/boot/xmhf.elf
#   mcopy -o -i OUT.img@@1M grub.cfg ::/boot/grub/grub.cfg
# Needs: grub-pc-bin grub-common mtools fdisk (sfdisk)
set -euo pipefail
usage() { sed -n '2,32p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
ELF=$1 OUT=$2; shift 2
BD=0x81 EXTRA= SIZE_MIB= GSERIAL=0
while [ $# -gt 0 ]; do
  case $1 in
    --boot-drive) BD=$2; shift 2 ;;
    --cmdline) EXTRA=$2; shift 2 ;;
    --size) SIZE_MIB=$2; shift 2 ;;
    --grub-serial) GSERIAL=1; shift ;;
    *) usage ;;
  esac
done
G=/usr/lib/grub/i386-pc
for f in "$G/boot.img" "$ELF"; do [ -f "$f" ] || { echo "mkgrubimg: missing $f" >&2; exit 1; }; done
for t in grub-mkimage mformat mcopy mmd sfdisk; do
  command -v $t >/dev/null || { echo "mkgrubimg: missing $t (tools/deps.sh installs it)" >&2; exit 1; }
done
grub-file --is-x86-multiboot "$ELF" || { echo "mkgrubimg: $ELF is not a multiboot v1 kernel" >&2; exit 1; }

W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

# --- core.img -------------------------------------------------------------------------------
# Embedded config, run before normal mode reads $prefix/grub.cfg. $root is (hdN,msdos1) here.
cat > "$W/early.cfg" <<'EOF'
search --no-floppy --file --set=root --hint=$root /boot/xmhf.elf
set prefix=($root)/boot/grub
EOF
# Keep core.img small: it is always LZMA-compressed on i386-pc, and decompressing it costs far
# more emulated time than reading the other modules uncompressed from /boot/grub/i386-pc.
grub-mkimage -O i386-pc -o "$W/core.img" -c "$W/early.cfg" -p /boot/grub \
  biosdisk part_msdos fat search search_fs_file
# Install partition = msdos1 (index 0), as grub-bios-setup does: the boot_dev field at offset
# 0x18 of the decompressor that follows diskboot.img (GRUB_DECOMPRESSOR_I386_PC_BOOT_DEVICE) is
# ff <dos part> <bsd part> <boot drive>; 0xff = none.
[ "$(od -An -tx1 -j $((512 + 0x18)) -N4 "$W/core.img" | tr -d ' ')" = ffffff00 ] ||
  { echo "mkgrubimg: unexpected core.img layout (GRUB version?)" >&2; exit 1; }
printf '\0' | dd of="$W/core.img" bs=1 seek=$((512 + 0x19)) conv=notrunc status=none
CORE_SECT=$(( ($(stat -c %s "$W/core.img") + 511) / 512 ))
[ $CORE_SECT -le 2047 ] || { echo "mkgrubimg: core.img too big ($CORE_SECT sectors)" >&2; exit 1; }

# --- grub.cfg ---------------------------------------------------------------------------------
"$(dirname "$0")/grubcfg.sh" "$BD" "$GSERIAL" "$EXTRA" > "$W/grub.cfg"

# --- FAT partition ----------------------------------------------------------------------------
CYL=516096; PSTART=2048
if [ -n "$SIZE_MIB" ]; then need=$(( SIZE_MIB * 1048576 ))
else need=$(( $(stat -c %s "$ELF") + $(du -cb "$G"/*.mod "$G"/*.lst | tail -1 | cut -f1) + 8 * 1048576 )); fi
PCYL=$(( (need + CYL - 1) / CYL )); [ $PCYL -lt 17 ] && PCYL=17        # >= 8 MiB
PSECT=$(( PCYL * 1008 ))
P=$W/part.img
# -h/-n: the same CHS geometry Bochs uses; -H: hidden sectors = partition start
mformat -C -i "$P" -t $PCYL -h 16 -n 63 -H $PSTART -v XMHF ::
mmd -i "$P" ::/boot ::/boot/grub ::/boot/grub/i386-pc
mcopy -i "$P" "$G"/*.mod "$G"/*.lst ::/boot/grub/i386-pc/     # as grub-install does
mcopy -i "$P" "$ELF" ::/boot/xmhf.elf
mcopy -i "$P" "$W/grub.cfg" ::/boot/grub/grub.cfg

# --- whole disk -------------------------------------------------------------------------------
TOTAL=$(( (PSTART + PSECT + 1007) / 1008 * 1008 ))
rm -f "$OUT"; truncate -s $(( TOTAL * 512 )) "$OUT"
printf 'label: dos\nunit: sectors\nstart=%d, size=%d, type=e, bootable\n' $PSTART $PSECT \
  | sfdisk -q --no-reread --no-tell-kernel "$OUT"
# boot.img code only (440 bytes): keeps the disk signature and partition table sfdisk wrote.
# Its defaults (core.img at LBA 1, boot drive = DL from the BIOS) fit this layout.
dd if="$G/boot.img" of="$OUT" bs=440 count=1 conv=notrunc status=none
dd if="$W/core.img" of="$OUT" bs=512 seek=1 conv=notrunc status=none
dd if="$P" of="$OUT" bs=512 seek=$PSTART conv=notrunc status=none
echo "mkgrubimg: $OUT: $(( TOTAL / 1008 )) cylinders ($(stat -c %s "$OUT") bytes), core.img $CORE_SECT sectors"
