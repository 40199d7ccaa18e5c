/* Fake VMX/CPU backend for host unit tests of runtime code (see README.md).
 * With -DXMHF_HOST_TEST the primitives of vmx_ops.h, cpu.h, percpu.h
 * (this_cpu) and ept01.h (l1_gpa_to_ptr), plus rdmsr_safe/wrmsr_safe/
 * xsetbv_safe and the LAPIC API, are the functions of fake_cpu.c. */
#ifndef FAKE_CPU_H
#define FAKE_CPU_H

#include "unit.h"
#include <runtime/guest_regs.h>
#include <runtime/percpu.h>
#include <xmhf/cpu.h>
#include <xmhf/log.h>
#include <xmhf/vmcs_fields.h>

/* A fake that a linked runtime source replaces. */
#define WEAK __attribute__((weak))

/* FAKE_HV_BASE, FAKE_HV_END: the hypervisor's range in the test programs
 * (from the Makefile, which also sets the linker symbols). */
/* Fake guest-physical memory [0, FAKE_GUEST_MEM) */
#define FAKE_GUEST_MEM 0x200000ull

/* Reset every fake (VMCS, MSRs, CPUID, CRs, guest memory, call records,
 * percpu) and make CPU `cpu` the current one. */
void fake_reset(u32 cpu);
void fake_set_cpu(u32 cpu);
/* fake_reset, then a platform for EPT01: the xAPIC at its default base,
 * no variable MTRRs and default type UC, EPT with FAKE_EPT_CAPS. */
void fake_reset_platform(u32 cpu);

/* The EPT capabilities (percpu.vmx.ept_vpid) the EPT tests give a CPU. */
#define FAKE_EPT_CAPS (EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_1G | EPT_CAP_INVEPT)

/* VMCS: every field of VMCS_FIELDS exists and reads 0 after a reset;
 * VMREAD/VMWRITE of any other encoding fails the test. Each region made
 * current by VMPTRLD has its own fields (up to 4 regions; the VMCS before
 * the first VMPTRLD is the first region's); vmcs_get/set reach the
 * current one. */
u64 vmcs_get(enum vmcs_field f);
void vmcs_set(enum vmcs_field f, u64 v);
u32 vmcs_writes(enum vmcs_field f); /* VMWRITEs since the reset */
/* Seed every guest-state and control field with a recognizable garbage
 * value, so that a field a function should write but does not shows. */
void vmcs_fill_garbage(void);
extern u64 fake_vmcs_current;            /* VMPTRLD'd pointer */
extern bool fake_vmclear_fails, fake_vmptrld_fails;
extern u32 fake_invept_calls;
extern u64 fake_invept_type, fake_invept_eptp;
/* INVVPID: calls since the reset, the last one's operands */
extern u32 fake_invvpid_calls;
extern u64 fake_invvpid_type, fake_invvpid_linear;
extern u16 fake_invvpid_vpid;

/* CPUID: leaves not set read as zeros. */
void cpuid_set(u32 leaf, u32 subleaf, struct cpuid_regs r);
/* MSRs: rdmsr/wrmsr of an MSR not set fails the test; rdmsr_safe/
 * wrmsr_safe report a fault for it. */
void msr_set(u32 msr, u64 v);
bool msr_present(u32 msr);
u64 msr_get(u32 msr);
extern u32 fake_wrmsr_safe_calls;
extern u64 fake_cr[5];
extern bool fake_xsetbv_fails;
extern u32 fake_xsetbv_calls;
extern u64 fake_xcr0;

/* Port I/O: any access fails the test unless fake_port_io is set; then
 * each is recorded (an IN with the value it read: fake_port_value
 * truncated to its width). */
extern bool fake_port_io;
extern u32 fake_port_value;
struct port_access { u16 port; u32 size; bool in; u32 value; };
#define MAX_PORT_ACCESSES 16
extern struct port_access fake_port_accesses[MAX_PORT_ACCESSES];
extern u32 fake_n_port_accesses;

/* Log lines (xlog, runtime_stubs.c): the first FAKE_LOG_LINES since the
 * reset are kept, fake_n_log counts them all. */
#define FAKE_LOG_LINES 16
struct log_line { enum loglvl level; char text[LOG_LINE_MAX]; };
extern struct log_line fake_log[FAKE_LOG_LINES];
extern u32 fake_n_log;
/* Kept lines at `level` that contain `needle`. */
u32 fake_log_count(enum loglvl level, const char *needle);

/* LAPIC: lapic_base() is IA32_APIC_BASE's address if that MSR is set. */
extern bool fake_x2apic;
extern u32 fake_ept01_moved_apic_cpu; /* ept01_move_apic's last call (runtime_stubs.c) */
extern u64 fake_ept01_moved_apic_page;
extern u64 fake_dr6; /* the guest DR6 bits dr6_set_bits set */
extern u32 fake_apic_ldr, fake_apic_dfr; /* what lapic_read returns */
extern u32 fake_lapic_resets;            /* lapic_reset_for_init calls */
struct ipi { u32 dest, icr_low; };
#define MAX_IPIS 32
extern struct ipi fake_ipis[MAX_IPIS];
extern u32 fake_n_ipis;

/* The capability MSRs of Bochs' corei7_skylake_x and core2_penryn_t9600
 * (/work/shared/platform/bochs-vmx.md section 5) as vmx_cpu_on reads them. */
void caps_skylake_x(struct vmx_caps *c);
void caps_penryn(struct vmx_caps *c);
/* The IA32_VMX_* MSRs (rdmsr) of corei7_skylake_x, as nested/ reads them for L1. */
void msr_set_vmx_caps_skylake_x(void);

/* Guest memory */
u8 *guest_mem(u64 gpa, u64 size);

/* Runtime functions a test does not link (runtime_stubs.c): the weak
 * recording fakes, each counting its calls. */
extern u32 fake_ept01_rebuild_calls, fake_ept01_rebuild_cpu;
extern u32 fake_ept01_build_calls;
#define FAKE_EPTP 0x123456000ull
/* panic/halt_all_cpus/CHECK fail the test (expect_assert_failure works). */

#endif
