# Top-level build. ./build.sh configures (BUILD/config.mk); make rebuilds
# with the last configuration. See README.md.
BUILD ?= build
# Without a configuration, make creates the default one and restarts.
.DEFAULT_GOAL := all
include $(BUILD)/config.mk
$(BUILD)/config.mk:
	./build.sh --out $(BUILD) --configure-only

CC := gcc
LD := ld
OBJ := $(BUILD)/obj

CFLAGS := -m64 -std=gnu11 $(CONFIG_OPT) -g -ffreestanding -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) \
	-mno-red-zone -mgeneral-regs-only -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fomit-frame-pointer -mcmodel=small \
	-ffunction-sections -fdata-sections -fno-strict-aliasing \
	-Wall -Wextra -Werror -Wno-unused-parameter \
	-Ixmhf/include -Ixmhf/runtime/inc -I$(BUILD) -MMD -MP
ifeq ($(CONFIG_OPT),-O3)
CFLAGS += -Wno-array-bounds
endif
ASFLAGS := $(CFLAGS) -D__ASSEMBLER__ -DRUNTIME_BIN=\"$(BUILD)/runtime.bin\"
LDFLAGS := -nostdlib -n -z noexecstack -z max-page-size=4096 --gc-sections --no-warn-rwx-segments

LIB_SRCS := $(wildcard xmhf/lib/*.c)
PLATFORM_SRCS := $(wildcard xmhf/platform/*.c xmhf/platform/*.S)
RUNTIME_SRCS := $(wildcard xmhf/runtime/*.c xmhf/runtime/*.S)
ifneq ($(CONFIG_EVENT_LOGGER),1)
RUNTIME_SRCS := $(filter-out xmhf/runtime/evlog.c,$(RUNTIME_SRCS))
endif
BOOT_SRCS := $(wildcard xmhf/boot/*.c xmhf/boot/*.S)
# The network log (docs/netlog.md): our NIC driver and glue, and Debian's lwIP
# sources, unmodified (tools/netlog/lwip-source.sh fetches them once into
# ~/.cache/xmhf/lwip): the NO_SYS core with IPv4, ARP and UDP.
NETLOG_SRCS := $(wildcard xmhf/lib/netlog/*.c)
LWIP_FILES := core/init.c core/def.c core/mem.c core/memp.c core/netif.c core/pbuf.c core/udp.c core/ip.c \
	core/inet_chksum.c core/timeouts.c core/ipv4/ip4.c core/ipv4/ip4_addr.c core/ipv4/etharp.c netif/ethernet.c
ifneq ($(CONFIG_APP),) # (not before the configuration exists)
LWIP_DIR := $(shell tools/netlog/lwip-source.sh)
ifeq ($(LWIP_DIR),)
$(error tools/netlog/lwip-source.sh found no lwIP sources)
endif
endif
LWIP_CFLAGS := -Ixmhf/lib/netlog/lwip/libc -Ixmhf/lib/netlog/lwip -I$(LWIP_DIR)/src/include
# The hypapp (./build.sh --app NAME): the C files of hypapps/NAME/ only, so
# its subdirectories (guest programs, tests) stay out of the hypervisor; the
# hooks it does not define are the core's defaults (hypapp_defaults.c).
APP_SRCS := $(wildcard hypapps/$(CONFIG_APP)/*.c)

# Nested VMX (./build.sh --no-nested leaves it out): nested/*.c, docs/nested.md
NESTED_SRCS := $(if $(filter 1,$(CONFIG_NESTED)),$(wildcard nested/*.c))

objs = $(patsubst %,$(OBJ)/%.o,$(basename $(1)))
LIB_OBJS := $(call objs,$(LIB_SRCS))
LWIP_OBJS := $(patsubst %.c,$(OBJ)/lwip/%.o,$(LWIP_FILES))
RUNTIME_OBJS := $(call objs,$(RUNTIME_SRCS) $(PLATFORM_SRCS) $(APP_SRCS) $(NESTED_SRCS) $(NETLOG_SRCS)) $(LWIP_OBJS) $(LIB_OBJS)
BOOT_OBJS := $(call objs,$(BOOT_SRCS)) $(LIB_OBJS)

IMAGES := $(BUILD)/xmhf.elf $(BUILD)/xmhf-grub.img $(BUILD)/xmhf-grub-debug.img $(BUILD)/xmhf.iso \
	$(BUILD)/xmhf.efi $(BUILD)/xmhf-uefi.img $(BUILD)/xmhf-grub-netlog.img $(BUILD)/xmhf-grub-netlog-bad.img
ifeq ($(CONFIG_EVENT_LOGGER),1)
IMAGES += $(BUILD)/xmhf-grub-evlog.img
endif
ifeq ($(CONFIG_TEST_HYPERCALLS),1)
IMAGES += $(BUILD)/xmhf-grub-ecam.img
endif

.PHONY: all test unit-test uefi-test bochs-test run deps guests bench clean
all: $(IMAGES)

$(BUILD)/config.h: $(BUILD)/config.mk
	@sed -n 's/^\(CONFIG_[A-Z0-9_]*\) := \(.*\)$$/#define \1 \2/p' $< | \
		sed 's/^#define CONFIG_APP \(.*\)/#define CONFIG_APP "\1"/' > $@

$(OBJ)/%.o: %.c $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(CFLAGS) -c $< -o $@

$(OBJ)/xmhf/lib/netlog/%.o: CFLAGS += $(LWIP_CFLAGS)

# lwIP as its authors wrote it: their warnings are not ours to fix
$(OBJ)/lwip/%.o: $(LWIP_DIR)/src/%.c xmhf/lib/netlog/lwip/lwipopts.h xmhf/lib/netlog/lwip/arch/cc.h $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC lwip/$*.c"; $(CC) $(filter-out -Werror -Wextra,$(CFLAGS)) $(LWIP_CFLAGS) -c $< -o $@

# hypapps see only xmhf/include (arrows point down: xmhf/hypapp.h)
$(OBJ)/hypapps/%.o: hypapps/%.c $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(filter-out -Ixmhf/runtime/inc,$(CFLAGS)) -c $< -o $@

# nested/ sees only xmhf/include (xmhf/nested.h) and its own nested/inc
$(OBJ)/nested/%.o: nested/%.c $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(filter-out -Ixmhf/runtime/inc,$(CFLAGS)) -Inested/inc -c $< -o $@

# the TrustVisor modules share the guest programs' ABI header
$(OBJ)/hypapps/trustvisor/%.o: CFLAGS += -Ihypapps/trustvisor/pal_demo

$(OBJ)/%.o: %.S $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  AS $<"; $(CC) $(ASFLAGS) -c $< -o $@

# The runtime: 64-bit, linked at its load base.
$(BUILD)/runtime.elf: $(RUNTIME_OBJS) xmhf/runtime/runtime.ld
	$(LD) $(LDFLAGS) --defsym=XMHF_BASE=$(CONFIG_BASE) -T xmhf/runtime/runtime.ld -o $@ $(RUNTIME_OBJS)

$(BUILD)/runtime.bin: $(BUILD)/runtime.elf
	objcopy -O binary $< $@

# The loader GRUB starts: carries runtime.bin and relocates it to the base.
$(OBJ)/xmhf/boot/payload.o: $(BUILD)/runtime.bin
$(BUILD)/xmhf.elf: $(BOOT_OBJS) xmhf/boot/loader.ld
	$(LD) $(LDFLAGS) -T xmhf/boot/loader.ld -o $@ $(BOOT_OBJS)
	grub-file --is-x86-multiboot $@

$(BUILD)/xmhf-grub.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh
	tools/image/mkgrubimg.sh $< $@

# the same at loglvl=debug (cases that compare the hypervisor's view with the guest's),
# with a key for the hypapp (hypapp_check.py)
$(BUILD)/xmhf-grub-debug.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh
	tools/image/mkgrubimg.sh $< $@ --cmdline "loglvl=debug hypapp_demo=on"

# the event logger's blocks every EVLOG_PERIOD ticks (evlog-*.case)
EVLOG_PERIOD ?= 200000000
$(BUILD)/xmhf-grub-evlog.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh Makefile
	tools/image/mkgrubimg.sh $< $@ --cmdline "evlog_period=$(EVLOG_PERIOD)"

# test builds: the UEFI loader's hand-off on Bochs, the multiboot loader standing in for the
# firmware (loader.c test_uefi_return, tests/bochs/uefi-return-1cpu.case)
$(BUILD)/xmhf-grub-uefi-return.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh
	tools/image/mkgrubimg.sh $< $@ --cmdline "test_uefi_return=on"

# test builds: a guest page hidden as the network log's NIC's ECAM page is where an MCFG maps
# it (Bochs has none: runtime/ecam_hide.c test_ecam_page, tests/bochs/checks-ecam-2cpu.case); the
# checks guest learns the page from its ecam_test_page= (HV_RANGE): RAM it does not use
ECAM_TEST_PAGE := 0x2000000
$(BUILD)/xmhf-grub-ecam.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh Makefile
	tools/image/mkgrubimg.sh $< $@ --cmdline "test_ecam_page=$(ECAM_TEST_PAGE)"

# the network log on Bochs' e1000 with slirp (netlog-*.case): the receiver is the host's loopback
# (10.0.2.2), on a UDP port of this build dir's own (netlog.port), so that builds can run at once
NETLOG_PORT := $(shell echo $$((20000 + $$(echo '$(abspath $(BUILD))' | cksum | cut -d' ' -f1) % 20000)))
$(BUILD)/netlog.port: Makefile
	echo $(NETLOG_PORT) > $@
$(BUILD)/xmhf-grub-netlog.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh $(BUILD)/netlog.port
	tools/image/mkgrubimg.sh $< $@ --cmdline "netlog=e1000,10.0.2.15,10.0.2.2:$(NETLOG_PORT)"
$(BUILD)/xmhf-grub-netlog-bad.img: $(BUILD)/xmhf.elf tools/image/mkgrubimg.sh tools/image/grubcfg.sh Makefile
	tools/image/mkgrubimg.sh $< $@ --cmdline "netlog=e1000,10.0.2.300,10.0.2.2:$(NETLOG_PORT)"

$(BUILD)/xmhf.iso: $(BUILD)/xmhf.elf tools/image/mkiso.sh tools/image/grubcfg.sh
	tools/image/mkiso.sh $< $@

# The UEFI loader (xmhf/boot/uefi/, docs/hardware.md): an EFI application
# built against Debian's gnu-efi (position-independent, linked with its
# crt0 and linker script, converted to PE32+), carrying runtime.bin like
# xmhf.elf. gnu-efi's script keeps only .bss and .data*/.rodata* whole,
# hence no -fdata-sections; the payload goes to .rodata.payload.
EFI_LIB := /usr/lib
EFI_CFLAGS := $(filter-out -fno-pic -mcmodel=small -ffunction-sections -fdata-sections,$(CFLAGS)) \
	-fpic -fshort-wchar -DGNU_EFI_USE_MS_ABI -isystem /usr/include/efi -isystem /usr/include/efi/x86_64
EFI_SHARED := $(addprefix xmhf/boot/,runtime_image.c enter_runtime.S payload.S) $(addprefix xmhf/lib/,cmdline.c console.c format.c log.c string.c e820.c)
EFI_OBJS := $(patsubst %,$(OBJ)/efi/%.o,$(basename $(wildcard xmhf/boot/uefi/*.c xmhf/boot/uefi/*.S) $(EFI_SHARED)))
EFI_OBJCOPY := objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* -j .rela.* \
	-j .reloc --target efi-app-x86_64 --subsystem=10
$(OBJ)/efi/%.o: %.c $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC(efi) $<"; $(CC) $(EFI_CFLAGS) -c $< -o $@
$(OBJ)/efi/%.o: %.S $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  AS(efi) $<"; $(CC) $(EFI_CFLAGS) -D__ASSEMBLER__ -DRUNTIME_BIN=\"$(BUILD)/runtime.bin\" \
		-DPAYLOAD_SECTION=.rodata.payload -c $< -o $@
$(OBJ)/efi/xmhf/boot/payload.o: $(BUILD)/runtime.bin
$(BUILD)/xmhf-efi.so: $(EFI_OBJS)
	$(LD) -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(EFI_OBJS) -L$(EFI_LIB) -lgnuefi -o $@
$(BUILD)/xmhf.efi: $(BUILD)/xmhf-efi.so
	$(EFI_OBJCOPY) $< $@

# Our EFI payload for the smoke test (tests/guests/efi-marker/): the firmware
# boots it after xmhf.efi returned; it reports the hypervisor's reservation.
MARKER_SRCS := tests/guests/efi-marker/marker.c $(addprefix xmhf/boot/uefi/,firmware.c mmap.c load_options.c) \
	$(addprefix xmhf/lib/,cmdline.c format.c string.c e820.c)
MARKER_OBJS := $(patsubst %,$(OBJ)/efi/%.o,$(basename $(MARKER_SRCS)))
$(BUILD)/efi-marker.so: $(MARKER_OBJS)
	$(LD) -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(MARKER_OBJS) -L$(EFI_LIB) -lgnuefi -o $@
$(BUILD)/efi-marker.efi: $(BUILD)/efi-marker.so
	$(EFI_OBJCOPY) $< $@

# The FAT image the firmware reads (tools/uefi/mkfatimg.sh): xmhf.efi, the
# marker, startup.nsh for the UEFI shell with the smoke test's boot order.
$(BUILD)/xmhf-uefi.img: $(BUILD)/xmhf.efi $(BUILD)/efi-marker.efi tools/uefi/mkfatimg.sh
	tools/uefi/mkfatimg.sh $@ $(BUILD)/xmhf.efi $(BUILD)/efi-marker.efi $(CONFIG_BASE) $(HV_END)

# QEMU (TCG, no VMX) + OVMF: xmhf.efi reports no VT-x and returns, the
# firmware boots the marker, which finds the reservation (tools/uefi/qemu-smoke.sh).
uefi-test: $(BUILD)/xmhf-uefi.img
	tools/uefi/qemu-smoke.sh $(BUILD)/xmhf-uefi.img $(CONFIG_BASE) $(HV_END) \
		0x$$(nm $(BUILD)/runtime.elf | awk '$$3 == "runtime_entry" {print $$1}') $(BUILD)/uefi-smoke

deps:
	tools/deps.sh

# Guests. The Linux guest is built once (GUESTS) and linked into every
# build directory; the checks guest is told this build's hypervisor range.
GUESTS ?= build/guests
$(GUESTS)/linux-guest.img: tools/linux-guest/build-guest.sh tools/linux-guest/mkcpio.py
	@mkdir -p $(@D)
	tools/linux-guest/build-guest.sh -o $@ >/dev/null

$(BUILD)/linux-guest.img: $(GUESTS)/linux-guest.img
	ln -sf $(abspath $<) $@

# The Linux guest with the TrustVisor PAL demo programs (pal_demo/README.md), 64- and 32-bit
# only (the initramfs stays small), running PAL_RUN (pal-*.case; `! cmd`: must fail).
PAL_DEMO := hypapps/trustvisor/pal_demo
PAL_RUN := test64; test32; test64 0xfeedc0de; ! test_args64 --bogus; ! pal_demo32 nosuchprog; \
	pal_reg64 --parallel 300; pal_reg32 --parallel 300; main64 3 4; main32 3 4; \
	test_args64 7 7 7; test_args32 7 7 7; pal_bad64; pal_bad32; pal_loops 300; pal_loops 300 --nmi
$(GUESTS)/pal-guest-bin/stamp: $(wildcard $(PAL_DEMO)/*) Makefile
	$(MAKE) -C $(PAL_DEMO) OUT=$(abspath $(GUESTS))/pal_demo >/dev/null
	rm -rf $(@D) && mkdir -p $(@D)
	for v in 64 32; do cp $(GUESTS)/pal_demo/pal_demo$$v $(@D)/ && \
		for p in test main test_args pal_bench pal_reg pal_bad; do ln -s pal_demo$$v $(@D)/$$p$$v; done; done
	cp $(PAL_DEMO)/pal_loops.sh $(@D)/pal_loops
	touch $@
$(GUESTS)/pal-guest.img: tools/linux-guest/build-guest.sh tools/linux-guest/mkcpio.py $(GUESTS)/pal-guest-bin/stamp
	tools/linux-guest/build-guest.sh -o $@ -d $(GUESTS)/pal-guest-bin -r "$(PAL_RUN)" >/dev/null
# For 1 CPU (pal-test-1cpu): 32-bit programs make their system calls by INT 80H (vdso32=0), which
# Linux leaves by IRET, not SYSENTER/SYSRET: Bochs' SYSRET keeps SS's hidden attributes, and its
# own NULL-SS loads clear B, so a 32-bit process may get a 16-bit stack (docs/bochs.md).
$(GUESTS)/pal1-guest.img: tools/linux-guest/build-guest.sh tools/linux-guest/mkcpio.py $(GUESTS)/pal-guest-bin/stamp
	tools/linux-guest/build-guest.sh -o $@ -d $(GUESTS)/pal-guest-bin -a vdso32=0 -r "$(PAL_RUN)" >/dev/null

$(BUILD)/pal-guest.img $(BUILD)/pal1-guest.img $(BUILD)/kvm-pal-guest.img: $(BUILD)/%: $(GUESTS)/%
	ln -sf $(abspath $<) $@

# The Linux guest with Debian's kvm-intel module and kvmtest (tests/guests/kvm/README.md), running
# KVM_RUN: the same image on bare Bochs (kvm-bare-*.case) and under the hypervisor (kvm-*cpu.case).
KVM_TEST := tests/guests/kvm
KVM_RUN := modprobe kvm_intel; kvmtest; kvmtest --vcpus 2; kvmtest --vms 2; kvmtest --bench 10000
$(GUESTS)/kvm-guest-bin/stamp: $(wildcard $(KVM_TEST)/*)
	$(MAKE) -C $(KVM_TEST) OUT=$(abspath $(@D)) >/dev/null
	touch $@
$(GUESTS)/kvm-guest.img: tools/linux-guest/build-guest.sh tools/linux-guest/mkcpio.py $(GUESTS)/kvm-guest-bin/stamp Makefile
	tools/linux-guest/build-guest.sh -o $@ -d $(GUESTS)/kvm-guest-bin -m kvm_intel -r "$(KVM_RUN)" >/dev/null
# Both (pal-kvm-2cpu, evlog-pal-kvm-2cpu): kvm_pal, PAL loops on CPU 1 while KVM's L2 runs on
# CPU 0 (tests/guests/kvm/kvm_pal.sh; issue 10 point 4, the seed's setting).
KVM_PAL_RUN := modprobe kvm_intel; kvm_pal 10 20000
$(GUESTS)/kvm-pal-guest.img: tools/linux-guest/build-guest.sh tools/linux-guest/mkcpio.py \
		$(GUESTS)/kvm-guest-bin/stamp $(GUESTS)/pal-guest-bin/stamp Makefile
	tools/linux-guest/build-guest.sh -o $@ -d $(GUESTS)/kvm-guest-bin -d $(GUESTS)/pal-guest-bin \
		-m kvm_intel -r "$(KVM_PAL_RUN)" >/dev/null

$(BUILD)/kvm-guest.img: $(GUESTS)/kvm-guest.img
	ln -sf $(abspath $<) $@

CHECKS_SRCS := $(wildcard tests/guests/checks/*) hypapps/test/abi.h hypapps/trustvisor/pal_demo/tv_abi.h tools/image/mkbootdisk.sh tools/image/mkgrubimg.sh
# the end of the hypervisor's range, for a recipe's shell
HV_END = 0x$$(nm $(BUILD)/runtime.elf | awk '$$3 == "__reserved_end" {print $$1}')
HV_RANGE = test_hypercalls=$(CONFIG_TEST_HYPERCALLS) hv_base=$(CONFIG_BASE) hv_end=$(HV_END) \
	app=$(CONFIG_APP) nested=$(CONFIG_NESTED) ecam_test_page=$(ECAM_TEST_PAGE)
$(BUILD)/checks/checks-disk.img: $(BUILD)/runtime.elf $(CHECKS_SRCS)
	tests/guests/checks/build.sh $(BUILD)/checks "expect=xmhf $(HV_RANGE)" >/dev/null

# the same guest ending with a triple fault, a reset or a fast reset (checks-end-*.case)
$(BUILD)/checks-end-%/checks-disk.img: $(BUILD)/runtime.elf $(CHECKS_SRCS)
	tests/guests/checks/build.sh $(@D) "expect=xmhf $(HV_RANGE) end=$*" >/dev/null

# the checks guest on plain Bochs (checks-bare-*.case): each check holds on the "hardware"
$(BUILD)/bare-checks/checks-disk.img: $(CHECKS_SRCS)
	tests/guests/checks/build.sh $(@D) expect=bare >/dev/null

# the l1 guest, our own small VMM (tests/guests/l1/README.md): the same image on bare Bochs
# (l1-bare-*.case) and under the hypervisor (l1-[124]cpu); l1-bench with bench=N; l1-stale with
# stale=N, the stale-field test only (l1-stale-2cpu.case; tools/bench/stale-fields.sh: more rounds)
L1_SRCS := $(wildcard tests/guests/l1/*) $(CHECKS_SRCS) hypapps/trustvisor/pal_demo/tv_abi.h hypapps/trustvisor/tv_errors.h
STALE_ROUNDS ?= 50
$(BUILD)/l1/l1-disk.img: $(L1_SRCS)
	tests/guests/l1/build.sh $(@D) >/dev/null
$(BUILD)/l1-bench/l1-disk.img: $(L1_SRCS)
	tests/guests/l1/build.sh $(@D) bench=1000 >/dev/null
# l1-interleave-2cpu: VMX cycles on CPU 0 while CPU 1 changes EPT01 (interleave.c)
$(BUILD)/l1-interleave/l1-disk.img: $(L1_SRCS)
	tests/guests/l1/build.sh $(@D) interleave=100 >/dev/null
$(BUILD)/l1-stale/l1-disk.img: $(L1_SRCS)
	tests/guests/l1/build.sh $(@D) stale=$(STALE_ROUNDS) >/dev/null

guests: $(BUILD)/linux-guest.img $(BUILD)/checks/checks-disk.img $(BUILD)/bare-checks/checks-disk.img \
	$(BUILD)/l1/l1-disk.img $(BUILD)/l1-bench/l1-disk.img $(BUILD)/l1-interleave/l1-disk.img \
	$(BUILD)/l1-stale/l1-disk.img \
	$(BUILD)/checks-end-triple/checks-disk.img $(BUILD)/checks-end-reset/checks-disk.img \
	$(BUILD)/checks-end-fastreset/checks-disk.img $(if $(filter trustvisor,$(CONFIG_APP)),$(BUILD)/pal-guest.img $(BUILD)/pal1-guest.img \
	$(BUILD)/kvm-pal-guest.img) \
	$(BUILD)/xmhf-grub-uefi-return.img $(BUILD)/kvm-guest.img

# make run: the hypervisor and the Linux guest (2 CPUs) in Bochs, console on stdout.
RUN_CPUS ?= 2
run: deps
	$(MAKE) BUILD=$(BUILD) all $(BUILD)/linux-guest.img
	python3 tools/bochs/bxrun.py --out $(BUILD)/run --disk $(BUILD)/xmhf-grub.img \
		--disk $(BUILD)/linux-guest.img --cpus $(RUN_CPUS) --mem 512 --timeout 3600 --follow \
		--stop-on 'xmhf: halted'

unit-test:
	$(MAKE) -C tests/unit check BUILD=$(abspath $(BUILD))
	/usr/bin/python3 -m unittest discover -s tools/evlog -p 'test_*.py'

# Bochs cases run against an -O0 build with TrustVisor (its hooks on every exit: everything
# but its hypercalls and CPUID leaf passes) and an -O3 build with the test hypapp (check
# hypapp_test, hypapp_check.py); the PAL cases (pal-*.case) against the -O0 build and an -O3
# TrustVisor build (test-pal-O3). All in one bxtest.py run (CASE@BUILD), longest first, so
# that the 2 cores of CI stay busy (docs/testing.md: the suite's time budget).
BOCHS_JOBS ?= 2
T := $(BUILD)/test
PAL_CASES := $(filter-out tests/bochs/pal-test-4cpu.case,$(wildcard tests/bochs/pal-*.case))
# The event-logger cases (evlog-*.case) run against a third build with --event-logger.
EVLOG_CASES := $(wildcard tests/bochs/evlog-*.case)
# a --no-nested build, where VMX stays hidden: the checks guest and the l1 guest's "no VMX"
NONESTED_CASES := tests/bochs/checks-1cpu.case tests/bochs/l1-novmx-2cpu.case
# Against -O0 only: the guests on bare Bochs (*-bare-*.case: the build only provides their
# images), Linux on 4 CPUs (6-13 minutes of Bochs), the hidden ECAM page and the PALs on 4 CPUs
# (4 minutes); against -O3 only: the network log. What they add to the other cases does not depend on the optimisation level.
O0_ONLY_CASES := $(wildcard tests/bochs/*-bare-*.case) tests/bochs/linux-4cpu.case tests/bochs/checks-ecam-2cpu.case \
	tests/bochs/pal-test-4cpu.case
O3_ONLY_CASES := $(wildcard tests/bochs/netlog-*.case)
BOTH_CASES := $(filter-out $(PAL_CASES) $(EVLOG_CASES) $(NONESTED_CASES) \
	$(O0_ONLY_CASES) $(O3_ONLY_CASES),$(wildcard tests/bochs/*.case)) \
	tests/bochs/checks-1cpu.case
at = $(addsuffix @$(T)-$(2),$(1))
BOCHS_JOBS_LIST := $(call at,$(BOTH_CASES) $(O0_ONLY_CASES) $(PAL_CASES),O0) \
	$(call at,$(BOTH_CASES) $(O3_ONLY_CASES),O3) $(call at,$(PAL_CASES),pal-O3) \
	$(call at,$(EVLOG_CASES),evlog) $(call at,$(NONESTED_CASES),nonested)
bochs-test:
	./build.sh --out $(T)-O0 --debug --app trustvisor --test-hypercalls >/dev/null
	./build.sh --out $(T)-O3 -O3 --app test --test-hypercalls >/dev/null
	./build.sh --out $(T)-pal-O3 -O3 --app trustvisor --test-hypercalls >/dev/null
	./build.sh --out $(T)-evlog --event-logger --app trustvisor --test-hypercalls >/dev/null
	./build.sh --out $(T)-nonested --no-nested --test-hypercalls >/dev/null
	$(MAKE) BUILD=$(T)-O0 guests >/dev/null
	$(MAKE) BUILD=$(T)-O3 guests >/dev/null
	$(MAKE) BUILD=$(T)-pal-O3 $(T)-pal-O3/pal-guest.img $(T)-pal-O3/pal1-guest.img \
		$(T)-pal-O3/kvm-pal-guest.img $(T)-pal-O3/l1/l1-disk.img >/dev/null
	$(MAKE) BUILD=$(T)-evlog guests >/dev/null
	$(MAKE) BUILD=$(T)-nonested guests >/dev/null
	@# the runner first: its pass, fail, timeout and stop-on paths
	tools/bochs/selftest/run.sh $(BUILD) > $(BUILD)/selftest.log || { cat $(BUILD)/selftest.log; exit 1; }
	tail -n 1 $(BUILD)/selftest.log
	python3 tools/bochs/bxtest.py -j $(BOCHS_JOBS) $(BOCHS_JOBS_LIST)

test: deps
	$(MAKE) BUILD=$(BUILD) unit-test uefi-test bochs-test

bench: deps all
	tools/bench/all.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
