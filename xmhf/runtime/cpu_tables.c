/* Per-CPU GDT, TSS and IDT (SDM Vol. 3 3.4.5, 8.2.3, 7.14). */
#include <runtime/asm_offsets.h>
#include <runtime/percpu.h>
#include <xmhf/cpu.h>
#include <xmhf/msr.h>
#include <xmhf/vmcs_fields.h>

_Static_assert(__builtin_offsetof(struct percpu_pages, stack) + STACK_SIZE == PERCPU_PAGES_STACK_TOP_0,
	       "asm_offsets.h: PERCPU_PAGES_STACK_TOP_0");
_Static_assert(__builtin_offsetof(struct percpu, self) == 0, "GS:0 must be the self pointer");
_Static_assert(__builtin_offsetof(struct percpu, requests) == PERCPU_REQUESTS, "asm_offsets.h: PERCPU_REQUESTS");
_Static_assert(REQUESTS_BEFORE_ENTRY == PERCPU_REQUESTS_BEFORE_ENTRY, "asm_offsets.h: PERCPU_REQUESTS_BEFORE_ENTRY");
_Static_assert(VMCS_HOST_RSP == VMCS_HOST_RSP_ENCODING, "asm_offsets.h: VMCS_HOST_RSP_ENCODING");
_Static_assert(sizeof(struct percpu_pages) % PAGE_SIZE == 0, "percpu_pages must stay page-aligned");

struct percpu percpu[MAX_CPUS];
struct percpu_pages percpu_pages[MAX_CPUS] __attribute__((section(".bss.pages"), aligned(4096)));

extern const u64 isr_stubs[IDT_VECTORS];

#define GDT_CODE64 0x00af9a000000ffffull /* P, DPL0, code, L */
#define GDT_DATA 0x00cf92000000ffffull   /* P, DPL0, data, writable */
#define TSS_TYPE_AVAILABLE 0x89ull       /* P, 64-bit TSS (available) */
#define GATE_INTERRUPT 0x8e              /* P, DPL0, 64-bit interrupt gate */

static void tss_descriptor(u64 *slot, const struct tss64 *tss)
{
	u64 base = (u64)tss, limit = sizeof(*tss) - 1;
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (TSS_TYPE_AVAILABLE << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

static u8 ist_of(u32 vector)
{
	switch (vector) {
	case 2: return IST_NMI;
	case 8: return IST_DF;
	case 18: return IST_MC;
	default: return 0;
	}
}

void percpu_cpu_init(u32 index)
{
	struct percpu *p = &percpu[index];
	struct percpu_pages *pg = &percpu_pages[index];
	struct { u16 limit; u64 base; } PACKED gdtr, idtr;

	p->self = p;
	p->index = index;
	p->gdt[0] = 0;
	p->gdt[SEL_CODE64 / 8] = GDT_CODE64;
	p->gdt[SEL_DATA / 8] = GDT_DATA;
	p->tss = (struct tss64){ .iopb_offset = sizeof(struct tss64) };
	p->tss.ist[IST_NMI] = (u64)pg->ist_nmi + IST_STACK_SIZE;
	p->tss.ist[IST_DF] = (u64)pg->ist_df + IST_STACK_SIZE;
	p->tss.ist[IST_MC] = (u64)pg->ist_mc + IST_STACK_SIZE;
	tss_descriptor(&p->gdt[SEL_TSS / 8], &p->tss);
	for (u32 v = 0; v < IDT_VECTORS; v++) {
		u64 h = isr_stubs[v];
		p->idt[v] = (struct idt_gate){
			.offset_low = (u16)h, .selector = SEL_CODE64, .ist = ist_of(v),
			.type_attr = GATE_INTERRUPT, .offset_mid = (u16)(h >> 16), .offset_high = (u32)(h >> 32),
		};
	}
	gdtr.limit = sizeof(p->gdt) - 1;
	gdtr.base = (u64)p->gdt;
	idtr.limit = sizeof(p->idt) - 1;
	idtr.base = (u64)p->idt;
	__asm__ volatile("lgdt %0" : : "m"(gdtr) : "memory");
	/* reload CS with a far return, then the data segments */
	__asm__ volatile("pushq %[cs]; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
			 : : [cs] "i"(SEL_CODE64) : "rax", "memory");
	__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss; mov %1, %%fs; mov %1, %%gs"
			 : : "r"((u32)SEL_DATA), "r"(0u) : "memory");
	__asm__ volatile("ltr %w0" : : "r"((u16)SEL_TSS));
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	wrmsr(MSR_IA32_GS_BASE, (u64)p);
}
