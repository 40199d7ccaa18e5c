#!/bin/bash
# build-guest.sh -- build the small BIOS-bootable Linux test-guest disk image, without root.
#
#   build-guest.sh [-o OUT.img] [-k FLAVOUR | -K VMLINUZ] [-t PROG]... [-a "kernel args"]
#                  [-T TSC_KHZ] [-c gzip|none] [-C CACHE_DIR]
#
# Result (a raw disk that boots on any PC BIOS, or from a hypervisor that starts it at 0x7C00
# with DL = its BIOS drive number):
#   MBR: syslinux mbr.bin (boots the active partition of drive DL)
#   partition 1 (FAT, active, LBA 2048): syslinux, syslinux.cfg, vmlinuz (Debian's kernel,
#     unmodified), initrd (busybox-static + /init + test programs)
#   size: a multiple of 516096 bytes (16 heads x 63 sectors, Bochs flat-image geometry)
# /init prints "GUEST-BANNER: Linux <ver> up, <n> CPU(s), ..." on ttyS0, runs the test program,
# prints "GUEST-DONE rc=N uptime=...", lets the UART drain and powers off (ACPI S5: Bochs exits).
#
#   -o  output image (default build/linux-guest.img); OUT.img.cmdline gets the kernel command line
#   -k  Debian kernel flavour fetched with `apt-get download` (default cloud-amd64: LZ4, boots
#       ~2x faster in Bochs than the XZ-compressed amd64 kernel); needs `apt-get update` once
#   -K  use this bzImage instead of a Debian package
#   -t  test program (repeatable): a static ELF (gcc -static) or a #!/bin/sh script. Each goes to
#       /bin/<name>; the first one is also /test, which /init runs. Another one can be chosen at
#       boot with the kernel argument GUEST_TEST=/bin/<name>.
#   -a  extra kernel arguments (appended; unknown key=value words land in /init's environment)
#   -T  tsc_early_khz value (default 50000 = Bochs ips 50M; 0 = leave it out). Linux believes
#       CPUID's 3.5 GHz TSC, but in Bochs the TSC counts instructions (= ips per emulated
#       second); without this the APIC timer fires ~50x too often and inflates exit counts.
#   -c  initramfs compression (default gzip)
#   -C  cache dir for the downloaded .deb (default ${XDG_CACHE_HOME:-~/.cache}/xmhf)
# Needs: busybox-static syslinux syslinux-common mtools fdisk python3 (tools/deps.sh)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

OUT=build/linux-guest.img FLAVOUR=cloud-amd64 VMLINUZ= TESTS=() EXTRA_ARGS= COMP=gzip TSC_KHZ=50000
CACHE=${XMHF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xmhf}
while getopts o:k:K:t:a:T:c:C: opt; do
  case $opt in
    o) OUT=$OPTARG ;; k) FLAVOUR=$OPTARG ;; K) VMLINUZ=$(readlink -f "$OPTARG") ;;
    t) TESTS+=("$(readlink -f "$OPTARG")") ;; a) EXTRA_ARGS="$EXTRA_ARGS $OPTARG" ;;
    T) TSC_KHZ=$OPTARG ;; c) COMP=$OPTARG ;; C) CACHE=$OPTARG ;;
    *) sed -n '2,31p' "$0"; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$OUT")"; OUT=$(readlink -f "$OUT")
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

# console on COM1 only; panic=-1: a panic reboots, which ends Bochs (reset_on_triple_fault
# aside) instead of hanging; 8250.nr_uarts=1: no probing of absent UARTs; cryptomgr.notests:
# skip the crypto self-tests (crypto_algapi_init waits 15 s of emulated time for them in Bochs,
# more than half of the whole boot)
KARGS="console=ttyS0,115200 panic=-1 nokaslr mitigations=off tsc=reliable 8250.nr_uarts=1 cryptomgr.notests"
[ "$TSC_KHZ" != 0 ] && KARGS="$KARGS tsc_early_khz=$TSC_KHZ"
KARGS="$KARGS${EXTRA_ARGS}"

for t in mcopy mformat syslinux sfdisk python3 dpkg-deb; do
  command -v $t >/dev/null || { echo "build-guest: missing $t (tools/deps.sh installs it)" >&2; exit 1; }
done
MBR_BIN=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$MBR_BIN" ] || { echo "build-guest: missing $MBR_BIN (syslinux-common)" >&2; exit 1; }
file -L /bin/busybox | grep -q 'statically linked' || { echo "build-guest: /bin/busybox is not static (busybox-static)" >&2; exit 1; }

# ---- 1. kernel: only /boot/vmlinuz-* of the package (the guest needs no modules) --------------
if [ -z "$VMLINUZ" ]; then
  mkdir -p "$CACHE/debs"
  # linux-image-<flavour> is a meta package; it depends on the real one (linux-image-6.1.0-NN-...)
  PKG=$(apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}' || true)
  if [ -n "$PKG" ]; then
    DEB=$(ls "$CACHE/debs/${PKG}_"*.deb 2>/dev/null | head -1 || true)
    if [ -z "$DEB" ]; then
      SANDBOX=(); [ "$(id -u)" = 0 ] && SANDBOX=(-o APT::Sandbox::User=root)   # no _apt warning
      (cd "$CACHE/debs" && apt-get download -q "${SANDBOX[@]}" "$PKG")
      DEB=$(ls "$CACHE/debs/${PKG}_"*.deb | head -1)
    fi
  else   # no apt lists (offline, no apt-get update): newest cached package of this flavour
    DEB=$(ls -v "$CACHE/debs/linux-image-"*"-${FLAVOUR}_"*.deb 2>/dev/null | tail -1 || true)
    [ -n "$DEB" ] || { echo "build-guest: cannot resolve linux-image-$FLAVOUR (run apt-get update)" >&2; exit 1; }
  fi
  dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$W" --wildcards './boot/vmlinuz-*'
  VMLINUZ=$(ls "$W/boot/vmlinuz-"*)
  echo "build-guest: kernel $(basename "$DEB")"
fi

# ---- 2. initramfs ------------------------------------------------------------------------------
cat > "$W/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the test guest (tools/linux-guest/build-guest.sh).
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin HOME=/ TERM=dumb
: "${GUEST_TEST:=/test}"           # settable on the kernel command line: GUEST_TEST=/bin/x
guest_main() {
  echo "GUEST-BANNER: Linux $(uname -r) up, $(grep -c ^processor /proc/cpuinfo) CPU(s), uptime $(cut -d' ' -f1 /proc/uptime)s"
  if [ -x "$GUEST_TEST" ]; then
    echo "GUEST-TEST: running $GUEST_TEST"
    "$GUEST_TEST"; rc=$?
  else
    echo "GUEST-TEST: no test program ($GUEST_TEST)"; rc=0
  fi
  echo "GUEST-DONE rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)s"
}
guest_main </dev/null >/dev/ttyS0 2>&1
# Close every handle on the serial tty: the last close waits until the UART has sent everything
# (tty closing_wait), so the final line is not lost when the power goes off right after.
exec </dev/null >/dev/null 2>&1
/bin/busybox poweroff -f
# not reached; if poweroff failed, init exits -> panic -> panic=-1 reboots
EOF
{
  echo "dir /bin 755"; echo "dir /dev 755"; echo "dir /proc 755"; echo "dir /sys 755"; echo "dir /tmp 1777"
  echo "nod /dev/console 600 c 5 1"      # for init's stdio before devtmpfs is mounted
  echo "nod /dev/ttyS0 600 c 4 64"
  echo "file /bin/busybox 755 /bin/busybox"
  echo "slink /bin/sh busybox"
  echo "file /init 755 $W/init"
  first=1
  for t in "${TESTS[@]}"; do
    if file -L "$t" | grep -q 'ELF' && ! file -L "$t" | grep -q 'statically linked'; then
      echo "build-guest: WARNING: $t is not statically linked (the guest has no shared libraries)" >&2
    fi
    echo "file /bin/$(basename "$t") 755 $t"
    if [ $first = 1 ]; then echo "file /test 755 $t"; first=0; fi
  done
} > "$W/initramfs.spec"
python3 "$HERE/mkcpio.py" "$W/initramfs.spec" "$W/initrd.cpio"
case $COMP in
  gzip) gzip -9 -n -c "$W/initrd.cpio" > "$W/initrd" ;;
  none) cp "$W/initrd.cpio" "$W/initrd" ;;
  *) echo "build-guest: bad -c $COMP" >&2; exit 2 ;;
esac

# ---- 3. FAT partition with syslinux --------------------------------------------------------------
printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /vmlinuz\n  INITRD /initrd\n  APPEND %s\n' \
  "$KARGS" > "$W/syslinux.cfg"
CYL=516096 PSTART=2048
need=$(( $(stat -c %s "$VMLINUZ") + $(stat -c %s "$W/initrd") + 1048576 ))   # + syslinux, FAT, slack
PCYL=$(( (need + CYL - 1) / CYL )); [ $PCYL -lt 8 ] && PCYL=8
PSECT=$(( PCYL * 1008 ))
P=$W/part.img
# -h/-n: Bochs' CHS geometry; -H: hidden sectors = partition start; -N: fixed serial
mformat -C -i "$P" -t $PCYL -h 16 -n 63 -H $PSTART -N 58a70001 -v GUEST ::
syslinux --install "$P"                # VBR + ldlinux.sys + ldlinux.c32, written via mtools
mcopy -i "$P" "$VMLINUZ" ::/vmlinuz
mcopy -i "$P" "$W/initrd" ::/initrd
mcopy -i "$P" "$W/syslinux.cfg" ::/syslinux.cfg

# ---- 4. whole disk: MBR + partition table + partition, whole cylinders ---------------------------
TOTAL=$(( (PSTART + PSECT + 1007) / 1008 * 1008 ))
rm -f "$OUT"; truncate -s $(( TOTAL * 512 )) "$OUT"
printf 'label: dos\nunit: sectors\nstart=%d, size=%d, type=e, bootable\n' $PSTART $PSECT \
  | sfdisk -q --no-reread --no-tell-kernel "$OUT"
dd if="$MBR_BIN" of="$OUT" bs=440 count=1 conv=notrunc status=none    # code only, keep the table
dd if="$P" of="$OUT" bs=512 seek=$PSTART conv=notrunc status=none
echo "$KARGS" > "$OUT.cmdline"
echo "build-guest: $OUT: $(stat -c %s "$OUT") bytes, initrd $(stat -c %s "$W/initrd") bytes, cmdline: $KARGS"
