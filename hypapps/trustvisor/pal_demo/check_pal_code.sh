#!/bin/bash
# check_pal_code.sh OBJ -- fail unless the PAL code in OBJ (pal_funcs.o) can run from a copy in
# another page, in a PAL: all code is in the section pal_text, pal_text has no relocations (no
# calls or data references outside it, no PLT/GOT, no jump tables), and its instructions use
# neither x87/MMX/SSE/AVX registers (CR0.EM is set in a PAL) nor FS/GS (no TLS, no stack canary).
set -euo pipefail
obj=$1
die() { echo "check_pal_code: $obj: $*" >&2; exit 1; }
# executable sections of non-zero size other than pal_text (readelf -SW: name, type, ..., flags)
other=$(readelf -SW "$obj" | awk '
  /^ *\[ *[0-9]+\]/ { sub(/^ *\[ *[0-9]+\] */, ""); name = $1; size = $5; flags = $7
                      if (flags ~ /X/ && size !~ /^0+$/ && name != "pal_text") print name }')
[ -z "$other" ] || die "code outside pal_text: $other"
readelf -SW "$obj" | grep -q ' pal_text ' || die "no section pal_text"
rel="^Relocation section '\.rela?\.?pal_text'"   # gas names it .relapal_text
if readelf -rW "$obj" | grep -Eq "$rel"; then
  readelf -rW "$obj" | awk -v re="$rel" '$0 ~ re { p = 1 } p && /^$/ { exit } p' >&2
  die "pal_text has relocations (references outside the copied code)"
fi
bad=$(objdump -d -j pal_text "$obj" | grep -E '%([xyz]mm[0-9]|st\b|mm[0-9])|%[fg]s:' || true)
[ -z "$bad" ] || die "instructions a PAL cannot run: $bad"
exit 0
