/* The boot CPU's guest state when it resumes the UEFI firmware
 * (BOOT_GUEST_UEFI_RETURN): the context boot/enter_runtime.S recorded,
 * entered in IA-32e mode (SDM Vol. 3 25.4 guest-state area, 27.3.1 checks). */
#include <runtime/percpu.h>
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/bootinfo.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/regs.h>
#include <xmhf/x86/segment.h>

#define SEL_INDEX_SHIFT 3

/* The VMCS fields of segment register i (ES CS SS DS FS GS LDTR TR, B.1-B.4) */
static void segment(u32 i, u16 selector, u64 base, u32 limit, u32 ar)
{
	vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * i, selector);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, base);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(VMCS_GUEST_ES_AR_BYTES + 2 * i, ar);
}

/* The GDT entry a selector names, or false if it is outside the limit or in an LDT. */
static bool gdt_entry(const struct boot_uefi_context *c, const u64 *gdt, u16 sel, u32 n_words, u64 *d)
{
	u32 index = sel >> SEL_INDEX_SHIFT;
	if ((sel & SEL_TI) || ((u64)index + n_words) * sizeof(u64) - 1 > c->gdtr_limit)
		return false;
	d[0] = gdt[index];
	if (n_words == 2)
		d[1] = gdt[index + 1];
	return true;
}

/* A code or data segment register: unusable when null. The CPU set the
 * descriptor's accessed bit when it loaded it (3.4.5.1). */
static const char *code_data(const struct boot_uefi_context *c, const u64 *gdt, u32 i, u16 sel)
{
	u64 d;
	if (!(sel & ~SEL_RPL)) {
		segment(i, sel, 0, 0, AR_UNUSABLE);
		return NULL;
	}
	if (!gdt_entry(c, gdt, sel, 1, &d))
		return "a segment selector is outside the firmware's GDT";
	segment(i, sel, desc_base(d), desc_limit(d), desc_ar(d) | SEG_TYPE_ACCESSED);
	return NULL;
}

/* TR or LDTR: a 16-byte system descriptor in IA-32e mode (8.2.3). */
static const char *system_seg(const struct boot_uefi_context *c, const u64 *gdt, u32 i, u16 sel, u32 null_limit,
			      u32 null_ar)
{
	u64 d[2];
	if (!(sel & ~SEL_RPL)) {
		segment(i, 0, 0, null_limit, null_ar);
		return NULL;
	}
	if (!gdt_entry(c, gdt, sel, 2, d))
		return "the TR or LDTR selector is outside the firmware's GDT";
	segment(i, sel, desc_base(d[0]) | (d[1] << 32), desc_limit(d[0]), desc_ar(d[0]));
	return NULL;
}

const char *vmcs01_guest_uefi_state(const struct boot_uefi_context *c, const u64 *gdt)
{
	const struct vmx_caps *caps = &this_cpu()->vmx;
	const char *err = NULL;

	if (!(c->efer & EFER_LMA) || !(c->cr0 & CR0_PG) || !(c->cr4 & CR4_PAE))
		return "the firmware does not run in IA-32e mode";
	vmcs01_guest_init_state(0, 0);
	/* the guest reads its own CR0/CR4; the owned fixed bits are the CPU's */
	vmwrite(VMCS_CR0_READ_SHADOW, c->cr0);
	vmwrite(VMCS_GUEST_CR0, (c->cr0 | caps->cr0_fixed0) & caps->cr0_fixed1);
	vmwrite(VMCS_CR4_READ_SHADOW, c->cr4);
	vmwrite(VMCS_GUEST_CR4, (c->cr4 | caps->cr4_fixed0) & caps->cr4_fixed1);
	vmwrite(VMCS_GUEST_CR3, c->cr3);
	vmwrite(VMCS_GUEST_IA32_EFER, c->efer);
	vmwrite(VMCS_GUEST_IA32_PAT, c->pat);
	vmwrite(VMCS_VM_ENTRY_CONTROLS, vmread(VMCS_VM_ENTRY_CONTROLS) | ENTRY_IA32E_MODE_GUEST);

	const u16 sels[] = { [SEG_ES] = c->es, [SEG_CS] = c->cs, [SEG_SS] = c->ss,
			     [SEG_DS] = c->ds, [SEG_FS] = c->fs, [SEG_GS] = c->gs };
	for (u32 i = SEG_ES; i <= SEG_GS && !err; i++)
		err = code_data(c, gdt, i, sels[i]);
	if (!err)
		err = system_seg(c, gdt, SEG_GS + 1, c->ldtr, 0, AR_UNUSABLE);
	if (!err)
		err = system_seg(c, gdt, SEG_GS + 2, c->tr, TSS32_MIN_LIMIT, AR_TSS_BUSY);
	if (err)
		return err;
	/* FS and GS bases come from the MSRs, also for null selectors */
	vmwrite(VMCS_GUEST_FS_BASE, c->fs_base);
	vmwrite(VMCS_GUEST_GS_BASE, c->gs_base);
	vmwrite(VMCS_GUEST_GDTR_BASE, c->gdtr_base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, c->gdtr_limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, c->idtr_base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, c->idtr_limit);
	vmwrite(VMCS_GUEST_RIP, c->rip);
	vmwrite(VMCS_GUEST_RSP, c->rsp);
	vmwrite(VMCS_GUEST_RFLAGS, c->rflags);
	return NULL;
}
