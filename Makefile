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
BOOT_SRCS := $(wildcard xmhf/boot/*.c xmhf/boot/*.S)
# The hypapp (./build.sh --app NAME): the C files of hypapps/NAME/ only, so
# its subdirectories (guest programs, tests) stay out of the hypervisor.
APP_SRCS := $(wildcard hypapps/$(CONFIG_APP)/*.c)
ifneq ($(CONFIG_APP),) # (not before the configuration exists)
ifeq ($(shell grep -ls hypapp_init $(APP_SRCS) /dev/null),)
$(error --app $(CONFIG_APP): hypapps/$(CONFIG_APP)/ implements no hypapp hooks (hypapp_init) yet)
endif
endif

objs = $(patsubst %,$(OBJ)/%.o,$(basename $(1)))
LIB_OBJS := $(call objs,$(LIB_SRCS))
RUNTIME_OBJS := $(call objs,$(RUNTIME_SRCS) $(PLATFORM_SRCS) $(APP_SRCS)) $(LIB_OBJS)
BOOT_OBJS := $(call objs,$(BOOT_SRCS)) $(LIB_OBJS)

IMAGES := $(BUILD)/xmhf.elf $(BUILD)/xmhf-grub.img $(BUILD)/xmhf-grub-debug.img $(BUILD)/xmhf.iso

.PHONY: all test unit-test bochs-test run deps guests bench clean
all: $(IMAGES)

$(BUILD)/config.h: $(BUILD)/config.mk
	@sed -n 's/^\(CONFIG_[A-Z_]*\) := \(.*\)$$/#define \1 \2/p' $< | \
		sed 's/^#define CONFIG_APP \(.*\)/#define CONFIG_APP "\1"/' > $@

$(OBJ)/%.o: %.c $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(CFLAGS) -c $< -o $@

# hypapps see only xmhf/include (arrows point down: xmhf/hypapp.h)
$(OBJ)/hypapps/%.o: hypapps/%.c $(BUILD)/config.h
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(filter-out -Ixmhf/runtime/inc,$(CFLAGS)) -c $< -o $@

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

$(BUILD)/xmhf.iso: $(BUILD)/xmhf.elf tools/image/mkiso.sh tools/image/grubcfg.sh
	tools/image/mkiso.sh $< $@

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
PAL_RUN := test64; test32; test64 0xfeedc0de; ! test_args64 --bogus; ! pal_demo32 nosuchprog; pal_reg64 --parallel 300; pal_reg32 --parallel 300
$(GUESTS)/pal-guest.img: tools/linux-guest/build-guest.sh tools/linux-guest/mkcpio.py $(wildcard $(PAL_DEMO)/*) Makefile
	$(MAKE) -C $(PAL_DEMO) OUT=$(abspath $(GUESTS))/pal_demo >/dev/null
	rm -rf $(GUESTS)/pal-guest-bin && mkdir -p $(GUESTS)/pal-guest-bin
	for v in 64 32; do cp $(GUESTS)/pal_demo/pal_demo$$v $(GUESTS)/pal-guest-bin/ && \
		for p in test main test_args pal_bench pal_reg; do ln -s pal_demo$$v $(GUESTS)/pal-guest-bin/$$p$$v; done; done
	tools/linux-guest/build-guest.sh -o $@ -d $(GUESTS)/pal-guest-bin -r "$(PAL_RUN)" >/dev/null

$(BUILD)/pal-guest.img: $(GUESTS)/pal-guest.img
	ln -sf $(abspath $<) $@

CHECKS_SRCS := $(wildcard tests/guests/checks/*) hypapps/test/abi.h hypapps/trustvisor/pal_demo/tv_abi.h tools/image/mkbootdisk.sh tools/image/mkgrubimg.sh
HV_RANGE = test_hypercalls=$(CONFIG_TEST_HYPERCALLS) hv_base=$(CONFIG_BASE) hv_end=0x$$(nm $(BUILD)/runtime.elf | awk '$$3 == "__reserved_end" {print $$1}') \
	app=$(CONFIG_APP)
$(BUILD)/checks/checks-disk.img: $(BUILD)/runtime.elf $(CHECKS_SRCS)
	tests/guests/checks/build.sh $(BUILD)/checks "expect=xmhf $(HV_RANGE)" >/dev/null

# the same guest ending with a triple fault, a reset or a fast reset (checks-end-*.case)
$(BUILD)/checks-end-%/checks-disk.img: $(BUILD)/runtime.elf $(CHECKS_SRCS)
	tests/guests/checks/build.sh $(@D) "expect=xmhf $(HV_RANGE) end=$*" >/dev/null

# the checks guest on plain Bochs (checks-bare-*.case): each check holds on the "hardware"
$(BUILD)/bare-checks/checks-disk.img: $(CHECKS_SRCS)
	tests/guests/checks/build.sh $(@D) expect=bare >/dev/null

guests: $(BUILD)/linux-guest.img $(BUILD)/checks/checks-disk.img $(BUILD)/bare-checks/checks-disk.img \
	$(BUILD)/checks-end-triple/checks-disk.img $(BUILD)/checks-end-reset/checks-disk.img \
	$(BUILD)/checks-end-fastreset/checks-disk.img $(if $(filter trustvisor,$(CONFIG_APP)),$(BUILD)/pal-guest.img)

# make run: the hypervisor and the Linux guest (2 CPUs) in Bochs, console on stdout.
RUN_CPUS ?= 2
run: deps
	$(MAKE) BUILD=$(BUILD) all $(BUILD)/linux-guest.img
	python3 tools/bochs/bxrun.py --out $(BUILD)/run --disk $(BUILD)/xmhf-grub.img \
		--disk $(BUILD)/linux-guest.img --cpus $(RUN_CPUS) --mem 512 --timeout 3600 --follow \
		--stop-on 'xmhf: halted'

unit-test:
	$(MAKE) -C tests/unit check BUILD=$(abspath $(BUILD))

# Bochs cases run against an -O0 build with TrustVisor (its hooks on every exit: everything
# but its hypercalls and CPUID leaf passes) and an -O3 build with the test hypapp (check
# hypapp_test, hypapp_check.py); the PAL cases (pal-*.case) against the -O0 build only.
BOCHS_JOBS ?= 2
PAL_CASES := $(wildcard tests/bochs/pal-*.case)
bochs-test:
	./build.sh --out $(BUILD)/test-O0 --debug --app trustvisor --test-hypercalls >/dev/null
	./build.sh --out $(BUILD)/test-O3 -O3 --app test --test-hypercalls >/dev/null
	$(MAKE) BUILD=$(BUILD)/test-O0 guests >/dev/null
	$(MAKE) BUILD=$(BUILD)/test-O3 guests >/dev/null
	python3 tools/bochs/bxtest.py -j $(BOCHS_JOBS) --build $(BUILD)/test-O0 --build $(BUILD)/test-O3 \
		$(filter-out $(PAL_CASES),$(wildcard tests/bochs/*.case))
	python3 tools/bochs/bxtest.py -j $(BOCHS_JOBS) --build $(BUILD)/test-O0 $(PAL_CASES)

test: deps
	$(MAKE) BUILD=$(BUILD) unit-test bochs-test

bench: deps all
	tools/bench/all.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
