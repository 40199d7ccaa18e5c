/* Per-CPU data, indexed by the dense CPU index (0 = boot CPU). A CPU finds
 * its own through GS.base, which points at its struct percpu. */
#ifndef RUNTIME_PERCPU_H
#define RUNTIME_PERCPU_H

#include <config.h>
#include <runtime/guest_step.h>
#include <runtime/vmx_caps.h>
#include <xmhf/mtrr.h>
#include <xmhf/paging.h>
#include <xmhf/percpu_index.h>
#include <xmhf/types.h>
#include <xmhf/x86/exit_reasons.h>

#define MAX_CPUS CONFIG_MAX_CPUS
#define STACK_SIZE 16384
#define IST_STACK_SIZE 4096
#define GDT_ENTRIES 5 /* null, code64, data, TSS (2 slots) */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define IDT_VECTORS 32
#define IST_NMI 1
#define IST_DF 2
#define IST_MC 3

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 ist[8]; /* ist[0] is reserved */
	u64 reserved1;
	u16 reserved2;
	u16 iopb_offset;
} PACKED;

struct idt_gate {
	u16 offset_low, selector;
	u8 ist, type_attr;
	u16 offset_mid;
	u32 offset_high, reserved;
} PACKED;

enum cpu_state { CPU_ABSENT, CPU_STARTED, CPU_VMX_ROOT, CPU_FAILED };

/* Requests from other CPUs (xcall.h), applied before the next VM entry;
 * REQUEST_STOP and REQUEST_INVEPT also in the NMI handler in VMX root. */
#define REQUEST_INIT BIT(0)   /* guest INIT: wait for SIPI */
#define REQUEST_SIPI BIT(1)   /* guest SIPI with sipi_vector */
#define REQUEST_STOP BIT(2)   /* quiesce: stop until the quiescer resumes */
#define REQUEST_INVEPT BIT(3) /* INVEPT this CPU's EPT01 (a shootdown) */
#define REQUEST_NMI BIT(4)    /* this CPU's NMI handler took a guest NMI in VMX root */
#define REQUEST_NESTED BIT(5) /* nested VMX's work before the next entry (this CPU posts it) */
/* What vmentry.S must apply before entering the guest (a SIPI only
 * matters while waiting for one). */
#define REQUESTS_BEFORE_ENTRY (REQUEST_INIT | REQUEST_STOP | REQUEST_INVEPT | REQUEST_NMI | REQUEST_NESTED)

struct percpu {
	struct percpu *self; /* GS:0 */
	u32 index;
	u32 apic_id;
	volatile enum cpu_state state;
	volatile u32 requests; /* REQUEST_* bits posted by other CPUs (vmentry.S tests it) */
	struct vmx_caps vmx;
	u64 cr0_mask, cr4_mask;   /* guest/host masks of VMCS01 */
	volatile u32 sipi_vector; /* valid with REQUEST_SIPI */
	bool in_guest;            /* VMCS01 launched */
	bool init_blocked;        /* a guest INIT held while L1 is in VMX root (nested_init_signal) */
	u32 nmi_pending;          /* NMIs to inject into the guest */
	struct guest_step step;   /* guest_step.c */
	bool nmi_held;            /* guest_isolate_begin: nmi_pending waits */
	bool vectored_dropped;    /* guest_drop_vectored_event during this exit */
	bool vmcs02_current;      /* nested VMX made its VMCS02 current (vmcs_make_current) */
	u32 kick_pending;         /* an NMI another CPU sent to make this one see a request */
	u32 invept_acks;          /* REQUEST_INVEPTs done (xcall.c) */
	u32 apic_ldr, apic_dfr;   /* the guest's xAPIC LDR/DFR, for logical IPIs */
	l1_gpa_t ept_apic_page;   /* the APIC page EPT01 keeps read-only */
	struct mtrr_state mtrr;   /* the guest's MTRRs on this CPU */
	u64 exits[EXIT_REASON_COUNT]; /* VM exits by basic reason */
	u64 gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
};

/* Page-aligned per-CPU memory, kept apart from struct percpu. */
struct percpu_pages {
	u8 vmxon_region[PAGE_SIZE];
	u8 ist_nmi[IST_STACK_SIZE];
	u8 ist_df[IST_STACK_SIZE];
	u8 ist_mc[IST_STACK_SIZE];
	u8 stack[STACK_SIZE];
	u8 vmcs01[PAGE_SIZE];
	u8 msr_bitmap[PAGE_SIZE];
	u8 io_bitmap_a[PAGE_SIZE];
	u8 io_bitmap_b[PAGE_SIZE];
};

extern struct percpu percpu[MAX_CPUS];
extern struct percpu_pages percpu_pages[MAX_CPUS];
extern struct cpu_index_table cpu_index; /* APIC id <-> dense index */

/* CPUs the hypervisor runs on (found in the MADT, <= MAX_CPUS). */
static inline u32 cpu_count(void) { return cpu_index.n; }
/* Give the CPU with this APIC id the next dense index (its percpu[]);
 * returns the index, or CPU_INDEX_NONE when MAX_CPUS are registered. */
u32 cpu_register(u32 apic_id);

#ifdef XMHF_HOST_TEST
struct percpu *this_cpu(void); /* tests/unit/fake_cpu.c */
#else
static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}
#endif

static inline u64 percpu_stack_top(u32 index)
{
	return (u64)percpu_pages[index].stack + STACK_SIZE;
}

/* Kicks: a sender sets kick_pending and sends the NMI only if it was
 * clear, so at most one kick NMI is in flight and two kicks never merge
 * into one NMI that leaves a count behind. */
static inline bool nmi_kick_needed(struct percpu *p)
{
	return !__atomic_exchange_n(&p->kick_pending, 1, __ATOMIC_SEQ_CST);
}

/* An NMI arrived: true if it is the kick (consumed), false if it belongs
 * to the guest. A guest NMI that comes before the kick's NMI is taken for
 * the kick, and the kick's NMI then counts for the guest: none is lost or
 * invented (only NMIs that merge in the CPU are one, as on hardware). */
static inline bool nmi_is_kick(struct percpu *p)
{
	return __atomic_exchange_n(&p->kick_pending, 0, __ATOMIC_SEQ_CST) != 0;
}

/* Load this CPU's GDT, TSS, IDT and GS.base. */
void percpu_cpu_init(u32 index);

#endif
