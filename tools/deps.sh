#!/bin/bash
# tools/deps.sh [--list|--check] -- install the Debian packages this project needs (the only list;
# used by .ci/run and `make deps`). Installs only when something is missing; runs
# `apt-get update` only then. --list prints the packages; --check only reports missing ones
# (exit 1 if any).
set -euo pipefail
PKGS=(
  build-essential                          # gcc make binutils
  gcc-multilib                             # -m32 static PAL demo programs (hypapps/trustvisor/pal_demo)
  bochs bochsbios vgabios bochs-sdl        # the VMX platform; sdl2 display library (headless)
  grub-pc-bin grub-common xorriso mtools   # GRUB disk images and ISOs (tools/image)
  libcmocka-dev                            # unit tests
  busybox-static syslinux syslinux-common fdisk   # Linux test guest (tools/linux-guest)
  python3 bc                               # test runners, scripts
  python3-yaml python3-matplotlib          # tools/evlog (event-logger summaries and plots)
  qemu-system-x86                          # TCG smoke tests (no VMX)
  gnu-efi ovmf                             # UEFI loader xmhf.efi; its QEMU+OVMF smoke test (tools/uefi)
  file                                     # build-guest.sh checks static binaries
  dpkg-dev                                 # apt-get source lwip (tools/netlog/lwip-source.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
case ${1:-} in
  --list) printf '%s\n' "${PKGS[@]}"; exit 0 ;;
  --check) [ ${#missing[@]} = 0 ] && exit 0; echo "missing: ${missing[*]}" >&2; exit 1 ;;
esac
# Debian's lwIP sources for the network log (docs/netlog.md), fetched once into ~/.cache/xmhf
lwip_sources() { tools/netlog/lwip-source.sh >/dev/null; }
cd "$(dirname "$0")/.."
[ ${#missing[@]} = 0 ] && { echo "deps: all ${#PKGS[@]} packages installed"; lwip_sources; exit 0; }
echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
lwip_sources
