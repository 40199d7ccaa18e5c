#!/bin/bash
# linux-boot.sh [CPUS...] -- Linux guest boot cost under the hypervisor vs bare (default CPUS: 1 2).
#
# The same Linux guest disk (tools/linux-guest/build-guest.sh, tsc_early_khz=50000, with
# tools/bench/tsc.c as its test program) boots in the same Bochs configuration (1024 MiB):
#   bare: the guest disk alone (BIOS disk 0x80)
#   hv:   $BENCH_BUILD/xmhf-grub.img (0x80) + the guest disk (0x81)
# and powers itself off (ACPI S5), which ends Bochs.
#
# Linux phase = power-off tick - tick of the guest's first instruction at 0x7C00 (its MBR).
# tools/bench/bxtick.py takes that tick exactly with a Bochs physical breakpoint on 0x7C00,
# deleted at its first hit so the rest of the run goes at full speed. Bare it is armed from
# tick 0; under the hypervisor from tick HV_AFTER (default 10 M: after GRUB's own boot.img ran
# at 0x7C00, ~1.7 M, and long before the hypervisor starts the guest, ~52 M). So BIOS, GRUB and hypervisor start-up do not
# count. "to userspace" = the guest's own RDTSC in its first user program (BENCH-TSC; the
# hypervisor does not offset the TSC) - the 0x7C00 tick. Ticks are deterministic.
# Raw numbers: $BENCH_RESULTS/linux-boot.tsv; table: linux-boot.md (also on stdout).
source "$(dirname "$0")/common.sh"
CPUS=("$@"); [ ${#CPUS[@]} -gt 0 ] || CPUS=(1 2)
HV_AFTER=${HV_AFTER:-10000000}

build_hv
build_linux_guest
for c in "${CPUS[@]}"; do
	log "Linux boot, $c CPU(s): bare and under the hypervisor"
	bg run_linux linux-bare-${c}cpu "$c" 0 "$LINUX_DISK"
	bg run_linux linux-hv-${c}cpu "$c" "$HV_AFTER" "$BENCH_BUILD/xmhf-grub.img" "$LINUX_DISK"
done
wait_all || log "some run failed (see $BENCH_RESULTS/runs/linux-*/)"

TSV=$BENCH_RESULTS/linux-boot.tsv MD=$BENCH_RESULTS/linux-boot.md
echo -e "cpus\tmode\tguest_start_tick\tuserspace_tick\tend_tick\tlinux_phase\tto_userspace\tguest_done\thv_lines_during_guest" > "$TSV"
for c in "${CPUS[@]}"; do
	for m in bare hv; do
		d=$BENCH_RESULTS/runs/linux-$m-${c}cpu
		s=$(kv "$d/ticks.txt" break_tick) e=$(kv "$d/ticks.txt" end_tick)
		u=$(sed -n 's/^BENCH-TSC \([0-9]*\).*/\1/p' "$d/serial.txt" | head -1)
		done_=$(grep -ac '^GUEST-DONE rc=0' "$d/serial.txt" || true)
		# hypervisor console lines after "starting the guest" (each costs ~4,300 ticks a byte)
		hvl=$(sed -n '/starting the guest/,$p' "$d/serial.txt" | grep -ac '^\[[0-9]*\] xmhf:' || true)
		[ "$m" = bare ] && hvl=0
		echo -e "$c\t$m\t$s\t$u\t$e\t$((e - s))\t$((u - s))\t$done_\t$((hvl > 0 ? hvl - 1 : 0))" >> "$TSV"
	done
done

row() { awk -F'\t' -v c="$1" -v m="$2" -v k="$3" 'NR==1{for(i=1;i<=NF;i++)h[$i]=i;next} $1==c&&$2==m{print $h[k]}' "$TSV"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f (%+.1f %%)", b/a, (b/a-1)*100}'; }
{
	echo "Linux guest boot, $(revision)"
	echo
	echo "| CPUs | Linux phase bare | Linux phase hv | ratio hv/bare | to userspace bare | to userspace hv | ratio | total ticks bare | total ticks hv | guest starts at (hv) | hv console lines during the guest |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for c in "${CPUS[@]}"; do
		pb=$(row "$c" bare linux_phase) ph=$(row "$c" hv linux_phase)
		ub=$(row "$c" bare to_userspace) uh=$(row "$c" hv to_userspace)
		ok=; [ "$(row "$c" bare guest_done)" = 1 ] && [ "$(row "$c" hv guest_done)" = 1 ] || ok=" (GUEST-DONE missing!)"
		echo "| $c$ok | $(commas "$pb") | $(commas "$ph") | $(ratio "$pb" "$ph") | $(commas "$ub") | $(commas "$uh") | $(ratio "$ub" "$uh") | $(commas "$(row "$c" bare end_tick)") | $(commas "$(row "$c" hv end_tick)") | $(commas "$(row "$c" hv guest_start_tick)") | $(row "$c" hv hv_lines_during_guest) |"
	done
} | tee "$MD"
