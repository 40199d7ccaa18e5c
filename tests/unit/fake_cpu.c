/* Fake VMX/CPU backend for host unit tests: see fake_cpu.h. */
#include "fake_cpu.h"
#include <runtime/ept01.h>
#include <runtime/guest_ram.h>
#include <xmhf/fixup.h>
#include <runtime/vmx_ops.h>
#include <xmhf/lapic.h>
#include <xmhf/msr.h>
#include <xmhf/mtrr.h>
#include <xmhf/vmx.h>


#define VMCS_ENCODINGS 0x8000

/* One bank of field values per VMCS region VMPTRLD made current; bank 0
 * is the VMCS of tests that never VMPTRLD, and the first region loaded. */
#define VMCS_BANKS 4
static u64 vmcs_banks[VMCS_BANKS][VMCS_ENCODINGS];
static u32 vmcs_bank_writes[VMCS_BANKS][VMCS_ENCODINGS];
static u64 vmcs_bank_region[VMCS_BANKS];
static u32 n_vmcs_banks;
static u64 *vmcs_val = vmcs_banks[0];
static u32 *vmcs_nwrites = vmcs_bank_writes[0];
static bool vmcs_exists[VMCS_ENCODINGS];
u64 fake_vmcs_current;
bool fake_vmclear_fails, fake_vmptrld_fails;
u32 fake_invept_calls;
u64 fake_invept_type, fake_invept_eptp;
u32 fake_invvpid_calls;
u64 fake_invvpid_type, fake_invvpid_linear;
u16 fake_invvpid_vpid;

#define MAX_CPUID 32
static struct { u32 leaf, sub; struct cpuid_regs r; } cpuid_tab[MAX_CPUID];
static u32 n_cpuid;

#define MAX_MSRS 128
static struct { u32 msr; u64 v; } msr_tab[MAX_MSRS];
static u32 n_msrs;
u32 fake_wrmsr_safe_calls;
u64 fake_cr[5];
bool fake_xsetbv_fails;
u32 fake_xsetbv_calls;
u64 fake_xcr0;

bool fake_port_io;
u32 fake_port_value;
struct port_access fake_port_accesses[MAX_PORT_ACCESSES];
u32 fake_n_port_accesses;

bool fake_x2apic;
struct ipi fake_ipis[MAX_IPIS];
u32 fake_n_ipis;

static u8 *guest_memory;
static __thread u32 current_cpu; /* per thread: test_xcall runs a CPU per thread */

static void field_check(enum vmcs_field f)
{
	if ((u32)f >= VMCS_ENCODINGS || !vmcs_exists[f])
		fail_msg("VMREAD/VMWRITE of field 0x%x, which is not in VMCS_FIELDS", (u32)f);
}

u64 vmread(enum vmcs_field f) { field_check(f); return vmcs_val[f]; }
void vmwrite(enum vmcs_field f, u64 v) { field_check(f); vmcs_val[f] = v; vmcs_nwrites[f]++; }
u64 vmcs_get(enum vmcs_field f) { field_check(f); return vmcs_val[f]; }
void vmcs_set(enum vmcs_field f, u64 v) { field_check(f); vmcs_val[f] = v; }
u32 vmcs_writes(enum vmcs_field f) { field_check(f); return vmcs_nwrites[f]; }

void vmcs_fill_garbage(void)
{
	for (u32 f = 0; f < VMCS_ENCODINGS; f++)
		if (vmcs_exists[f])
			vmcs_val[f] = 0xdeadbeefcafe0000ull | f;
}

bool vmclear(hpa_t pa)
{
	if (pa.v == fake_vmcs_current)
		fake_vmcs_current = 0;
	return !fake_vmclear_fails;
}

static u32 vmcs_bank(u64 region)
{
	for (u32 b = 0; b < n_vmcs_banks; b++)
		if (vmcs_bank_region[b] == region)
			return b;
	if (n_vmcs_banks == 1 && vmcs_bank_region[0] == 0) {
		vmcs_bank_region[0] = region;
		return 0;
	}
	assert_true(n_vmcs_banks < VMCS_BANKS);
	vmcs_bank_region[n_vmcs_banks] = region;
	return n_vmcs_banks++;
}

bool vmptrld(hpa_t pa)
{
	if (fake_vmptrld_fails)
		return false;
	fake_vmcs_current = pa.v;
	u32 b = vmcs_bank(pa.v);
	vmcs_val = vmcs_banks[b];
	vmcs_nwrites = vmcs_bank_writes[b];
	return true;
}

bool invept(u64 type, u64 eptp)
{
	fake_invept_calls++;
	fake_invept_type = type;
	fake_invept_eptp = eptp;
	return true;
}

bool invvpid(u64 type, u16 vpid, u64 linear)
{
	fake_invvpid_calls++;
	fake_invvpid_type = type;
	fake_invvpid_vpid = vpid;
	fake_invvpid_linear = linear;
	return true;
}

void cpuid_set(u32 leaf, u32 subleaf, struct cpuid_regs r)
{
	for (u32 i = 0; i < n_cpuid; i++)
		if (cpuid_tab[i].leaf == leaf && cpuid_tab[i].sub == subleaf) {
			cpuid_tab[i].r = r;
			return;
		}
	assert_true(n_cpuid < MAX_CPUID);
	cpuid_tab[n_cpuid].leaf = leaf;
	cpuid_tab[n_cpuid].sub = subleaf;
	cpuid_tab[n_cpuid++].r = r;
}

struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	for (u32 i = 0; i < n_cpuid; i++)
		if (cpuid_tab[i].leaf == leaf && cpuid_tab[i].sub == subleaf)
			return cpuid_tab[i].r;
	return (struct cpuid_regs){ 0 };
}

static u64 *msr_slot(u32 msr)
{
	for (u32 i = 0; i < n_msrs; i++)
		if (msr_tab[i].msr == msr)
			return &msr_tab[i].v;
	return NULL;
}

void msr_set(u32 msr, u64 v)
{
	u64 *slot = msr_slot(msr);
	if (!slot) {
		assert_true(n_msrs < MAX_MSRS);
		msr_tab[n_msrs].msr = msr;
		slot = &msr_tab[n_msrs++].v;
	}
	*slot = v;
}

bool msr_present(u32 msr) { return msr_slot(msr) != NULL; }

u64 msr_get(u32 msr)
{
	u64 *slot = msr_slot(msr);
	if (!slot)
		fail_msg("RDMSR 0x%x: not an MSR of the fake CPU (#GP)", msr);
	return *slot;
}

u64 rdmsr(u32 msr) { return msr_get(msr); }

void wrmsr(u32 msr, u64 v)
{
	if (!msr_present(msr))
		fail_msg("WRMSR 0x%x: not an MSR of the fake CPU (#GP)", msr);
	msr_set(msr, v);
}

bool rdmsr_safe(u32 msr, u64 *value)
{
	u64 *slot = msr_slot(msr);
	if (!slot)
		return false;
	*value = *slot;
	return true;
}

bool wrmsr_safe(u32 msr, u64 value)
{
	fake_wrmsr_safe_calls++;
	if (!msr_present(msr))
		return false;
	msr_set(msr, value);
	return true;
}

bool xsetbv_safe(u32 xcr, u64 value)
{
	fake_xsetbv_calls++;
	if (fake_xsetbv_fails || xcr != 0)
		return false;
	fake_xcr0 = value;
	return true;
}

u64 fake_dr6;
void dr6_set_bits(u64 bits) { fake_dr6 |= bits; }

#define FAKE_CR(n) \
	u64 read_cr##n(void) { return fake_cr[n]; } \
	void write_cr##n(u64 v) { fake_cr[n] = v; }
FAKE_CR(0)
FAKE_CR(2)
FAKE_CR(3)
FAKE_CR(4)

u64 rdtsc(void)
{
	static u64 tsc;
	return tsc += 1000;
}

struct desc_ptr store_gdtr(void) { return (struct desc_ptr){ 0x27, 0xffff800000001000ull }; }
struct desc_ptr store_idtr(void) { return (struct desc_ptr){ 0x1ff, 0xffff800000002000ull }; }

/* Port I/O fails the test unless fake_port_io is set; then every access is
 * recorded and an IN reads fake_port_value, truncated to its width. MMIO
 * accesses always fail. */
static void no_io(const char *what, u64 where) { fail_msg("unexpected %s 0x%llx", what, where); }
static u32 port_access(u16 port, u32 size, bool in, u32 value)
{
	if (!fake_port_io)
		no_io(in ? "IN from port" : "OUT to port", port);
	assert_true(fake_n_port_accesses < MAX_PORT_ACCESSES);
	if (in)
		value = size == 4 ? fake_port_value : fake_port_value & ((1u << (8 * size)) - 1);
	fake_port_accesses[fake_n_port_accesses++] = (struct port_access){ port, size, in, value };
	return value;
}
void outb(u16 port, u8 v) { port_access(port, 1, false, v); }
void outw(u16 port, u16 v) { port_access(port, 2, false, v); }
void outl(u16 port, u32 v) { port_access(port, 4, false, v); }
u8 inb(u16 port) { return (u8)port_access(port, 1, true, 0); }
u16 inw(u16 port) { return (u16)port_access(port, 2, true, 0); }
u32 inl(u16 port) { return port_access(port, 4, true, 0); }
u32 mmio_read32(u64 addr) { no_io("MMIO read at", addr); return ~0u; }
void mmio_write32(u64 addr, u32 v) { (void)v; no_io("MMIO write at", addr); }

/* The LAPIC API, weak: test_lapic links the real platform/lapic.c. */
WEAK bool lapic_enabled(void) { return true; }
WEAK bool lapic_x2apic_mode(void) { return fake_x2apic; }
/* The platform code reads IA32_APIC_BASE once: here it is read each time. */
WEAK u64 lapic_base(void)
{
	u64 v;
	return rdmsr_safe(MSR_IA32_APIC_BASE, &v) ? v & APIC_BASE_ADDR_MASK : LAPIC_DEFAULT_BASE;
}
WEAK u32 lapic_id(void) { return percpu[current_cpu].apic_id; }

u32 fake_apic_ldr, fake_apic_dfr = 0xffffffffu;
u32 fake_lapic_resets;

WEAK u32 lapic_read(u32 reg)
{
	if (reg == APIC_REG_LDR)
		return fake_apic_ldr;
	assert_int_equal(reg, APIC_REG_DFR);
	return fake_apic_dfr;
}

WEAK void lapic_reset_for_init(void) { fake_lapic_resets++; }

WEAK bool lapic_send_ipi(u32 dest_apic_id, u32 icr_low)
{
	assert_true(fake_n_ipis < MAX_IPIS);
	fake_ipis[fake_n_ipis++] = (struct ipi){ dest_apic_id, icr_low };
	return true;
}

void caps_skylake_x(struct vmx_caps *c)
{
	*c = (struct vmx_caps){
		.basic = 0x00d810000000002bull, .misc = 0x00000000600401e0ull, .vmcs_enum = 0x34,
		.cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x3727ff,
		.raw_pinbased = 0x0000007f00000016ull, .raw_procbased = 0xf7f9fffe0401e172ull,
		.raw_exit = 0x007fffff00036dffull, .raw_entry = 0x0000ffff000011ffull,
		.pinbased = 0x0000007f00000016ull, .procbased = 0xf7f9fffe04006172ull,
		.exit = 0x007fffff00036dfbull, .entry = 0x0000ffff000011fbull,
		.procbased2 = 0x02177fff00000000ull, .ept_vpid = 0x00000f0106334141ull, .vmfunc = 1,
	};
}

void msr_set_vmx_caps_skylake_x(void)
{
	struct vmx_caps c;
	caps_skylake_x(&c);
	msr_set(MSR_IA32_VMX_BASIC, c.basic);
	msr_set(MSR_IA32_VMX_PINBASED_CTLS, c.raw_pinbased);
	msr_set(MSR_IA32_VMX_PROCBASED_CTLS, c.raw_procbased);
	msr_set(MSR_IA32_VMX_EXIT_CTLS, c.raw_exit);
	msr_set(MSR_IA32_VMX_ENTRY_CTLS, c.raw_entry);
	msr_set(MSR_IA32_VMX_MISC, c.misc);
	msr_set(MSR_IA32_VMX_CR0_FIXED0, c.cr0_fixed0);
	msr_set(MSR_IA32_VMX_CR0_FIXED1, c.cr0_fixed1);
	msr_set(MSR_IA32_VMX_CR4_FIXED0, c.cr4_fixed0);
	msr_set(MSR_IA32_VMX_CR4_FIXED1, c.cr4_fixed1);
	msr_set(MSR_IA32_VMX_VMCS_ENUM, c.vmcs_enum);
	msr_set(MSR_IA32_VMX_PROCBASED_CTLS2, c.procbased2);
	msr_set(MSR_IA32_VMX_EPT_VPID_CAP, c.ept_vpid);
	msr_set(MSR_IA32_VMX_TRUE_PINBASED_CTLS, c.pinbased);
	msr_set(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, c.procbased);
	msr_set(MSR_IA32_VMX_TRUE_EXIT_CTLS, c.exit);
	msr_set(MSR_IA32_VMX_TRUE_ENTRY_CTLS, c.entry);
	msr_set(MSR_IA32_VMX_VMFUNC, c.vmfunc);
}


/* Penryn: the skylake_x controls but secondary controls 0x41 (no EPT, VPID,
 * unrestricted guest) and no EPT_VPID_CAP. */
void caps_penryn(struct vmx_caps *c)
{
	caps_skylake_x(c);
	c->procbased2 = 0x0000004100000000ull;
	c->ept_vpid = 0;
	c->vmfunc = 0;
}

struct percpu *this_cpu(void) { return &percpu[current_cpu]; }
void fake_set_cpu(u32 cpu) { current_cpu = cpu; }

void *l1_gpa_to_ptr(l1_gpa_t gpa)
{
	if (gpa.v >= FAKE_GUEST_MEM)
		fail_msg("guest-physical 0x%llx outside the fake guest memory", gpa.v);
	return guest_memory + gpa.v;
}

u8 *guest_mem(u64 gpa, u64 size)
{
	assert_true(gpa + size <= FAKE_GUEST_MEM);
	return guest_memory + gpa;
}

void fake_reset(u32 cpu)
{
	memset(vmcs_banks, 0, sizeof(vmcs_banks));
	memset(vmcs_bank_writes, 0, sizeof(vmcs_bank_writes));
	memset(vmcs_bank_region, 0, sizeof(vmcs_bank_region));
	n_vmcs_banks = 1;
	vmcs_val = vmcs_banks[0];
	vmcs_nwrites = vmcs_bank_writes[0];
	memset(vmcs_exists, 0, sizeof(vmcs_exists));
#define EXISTS(name, encoding, width, props, exists) vmcs_exists[encoding] = true;
	VMCS_FIELDS(EXISTS)
#undef EXISTS
	fake_vmcs_current = 0;
	fake_vmclear_fails = fake_vmptrld_fails = false;
	fake_invept_calls = 0;
	fake_invept_type = fake_invept_eptp = 0;
	fake_invvpid_calls = 0;
	fake_invvpid_type = fake_invvpid_linear = 0;
	fake_invvpid_vpid = 0;
	n_cpuid = 0;
	n_msrs = 0;
	fake_wrmsr_safe_calls = 0;
	/* the 64-bit hypervisor's own state */
	msr_set(MSR_IA32_EFER, EFER_LME | EFER_LMA | BIT(0));
	msr_set(MSR_IA32_PAT, 0x0007040600070406ull);
	memset(fake_cr, 0, sizeof(fake_cr));
	fake_cr[0] = 0x80050033;
	fake_cr[4] = 0x2020;
	fake_xsetbv_fails = false;
	fake_xsetbv_calls = 0;
	fake_xcr0 = 0;
	fake_x2apic = false;
	fake_dr6 = 0;
	fake_ept01_moved_apic_cpu = ~0u;
	fake_apic_ldr = 0;
	fake_apic_dfr = 0xffffffffu;
	fake_lapic_resets = 0;
	fake_n_ipis = 0;
	memset(fake_ipis, 0, sizeof(fake_ipis));
	/* exactly sized, so that ASan reports an access past its end */
	free(guest_memory);
	guest_memory = calloc(1, FAKE_GUEST_MEM);
	assert_non_null(guest_memory);
	memset(percpu, 0, sizeof(percpu));
	memset(percpu_pages, 0, sizeof(percpu_pages));
	cpu_index_init(&cpu_index, MAX_CPUS);
	for (u32 i = 0; i < MAX_CPUS; i++) {
		percpu[i].self = &percpu[i];
		percpu[i].index = i;
		percpu[i].apic_id = i;
		percpu[i].ept_apic_page = l1_gpa(EPT01_NO_APIC_PAGE);
	}
	/* all of the fake memory is guest RAM (but the hypervisor's range) */
	static const struct e820_map fake_ram = { .e = { { 0, FAKE_GUEST_MEM, E820_RAM } }, .n = 1 };
	guest_ram_init(&fake_ram, NULL, 0);
	fake_ept01_rebuild_calls = fake_ept01_build_calls = 0;
	fake_ept01_rebuild_cpu = ~0u;
	current_cpu = cpu;
}

void fake_reset_platform(u32 cpu)
{
	fake_reset(cpu);
	fake_n_log = 0;
	msr_set(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE);
	msr_set(MSR_MTRRCAP, 0);
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_UC);
	percpu[cpu].vmx.ept_vpid = FAKE_EPT_CAPS;
}
