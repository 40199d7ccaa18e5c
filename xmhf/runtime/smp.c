/* AP start-up: INIT to every AP, 10 ms, then per AP a SIPI (a second one
 * after 200 us if it has not started), as SDM Vol. 3 9.4.4.1 describes. The
 * APs are started one at a time because they share the trampoline's data. */
#include <runtime/asm_offsets.h>
#include <runtime/dma_protect.h>
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/hostpt.h>
#include <runtime/panic.h>
#include <runtime/percpu.h>
#include <runtime/smp.h>
#include <runtime/vmcs01.h>
#include <xmhf/cpu.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/power.h>
#include <xmhf/string.h>

#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
#define AP_START_TIMEOUT_US 100000
#define VMX_ROOT_TIMEOUT_US 1000000
#define POLL_US 10

extern const u8 ap_trampoline[], ap_trampoline_end[];
extern u64 ap_trampoline_cr3, ap_trampoline_stack, ap_trampoline_index;

/* The trampoline's data words at their copied address. */
#define TRAMPOLINE_WORD(sym) (*(volatile u64 *)(TRAMPOLINE_PA + ((const u8 *)&(sym) - ap_trampoline)))

static bool wait_state_change(u32 index, enum cpu_state from, u32 timeout_us)
{
	for (u32 t = 0; t < timeout_us; t += POLL_US) {
		if (percpu[index].state != from)
			return true;
		udelay(POLL_US);
	}
	return percpu[index].state != from;
}

void cpu_enter_vmx_root(u32 index)
{
	struct percpu *p = &percpu[index];
	const char *err = vmx_cpu_on(&p->vmx, percpu_pages[index].vmxon_region);

	if (err) {
		pr_err("xmhf: cpu %u (apic %u): cannot enter VMX root: %s", index, p->apic_id, err);
		p->state = CPU_FAILED;
		return;
	}
	pr_debug("xmhf: cpu %u (apic %u): in VMX root", index, p->apic_id);
	p->state = CPU_VMX_ROOT;
}

volatile bool guest_go;

void guest_prepare_cpu(u32 index)
{
	ept01_init_mtrr(index);
	percpu[index].apic_ldr = lapic_read(APIC_REG_LDR);
	percpu[index].apic_dfr = lapic_read(APIC_REG_DFR);
	const char *err = vmcs01_init(index);
	if (err)
		panic("xmhf: cpu %u: cannot set up VMCS01: %s", index, err);
	dma_protect_hide_units(index);
	pr_debug("xmhf: cpu %u: EPT01 uses %u pages", index, ept01_pages(index));
	hypapp_init_cpu(index);
}

void ap_main(u32 index)
{
	percpu_cpu_init(index);
	percpu[index].state = CPU_STARTED;
	cpu_enter_vmx_root(index);
	if (percpu[index].state != CPU_VMX_ROOT)
		cpu_halt_forever();
	while (!__atomic_load_n(&guest_go, __ATOMIC_ACQUIRE))
		cpu_relax();
	guest_prepare_cpu(index);
	guest_start_ap();
}

void smp_start_aps(void)
{
	u32 sipi = ICR_DELIVERY_STARTUP | (TRAMPOLINE_PA >> 12);

	if (cpu_count() < 2)
		return;
	memcpy((void *)TRAMPOLINE_PA, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
	TRAMPOLINE_WORD(ap_trampoline_cr3) = hostpt_cr3().v;
	for (u32 i = 1; i < cpu_count(); i++)
		lapic_send_ipi(percpu[i].apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
	udelay(INIT_DELAY_US);
	for (u32 i = 1; i < cpu_count(); i++) {
		TRAMPOLINE_WORD(ap_trampoline_stack) = percpu_stack_top(i);
		TRAMPOLINE_WORD(ap_trampoline_index) = i;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		lapic_send_ipi(percpu[i].apic_id, sipi);
		if (!wait_state_change(i, CPU_ABSENT, SIPI_DELAY_US)) {
			lapic_send_ipi(percpu[i].apic_id, sipi);
			if (!wait_state_change(i, CPU_ABSENT, AP_START_TIMEOUT_US))
				panic("xmhf: cpu %u (apic %u) did not start after INIT-SIPI-SIPI", i,
				      percpu[i].apic_id);
		}
	}
}

u32 smp_wait_vmx_root(void)
{
	u32 in_root = 0;
	for (u32 i = 0; i < cpu_count(); i++) {
		if (!wait_state_change(i, CPU_STARTED, VMX_ROOT_TIMEOUT_US))
			panic("xmhf: cpu %u (apic %u) hangs in start-up", i, percpu[i].apic_id);
		in_root += percpu[i].state == CPU_VMX_ROOT;
	}
	return in_root;
}
