/* Host exceptions: a fault at a fix-up site resumes there; NMIs from a
 * CPU that halts the system stop this CPU; anything else is a hypervisor
 * bug and gets a full dump. */
#include <xmhf/fixup.h>
#include <runtime/panic.h>
#include <runtime/percpu.h>
#include <xmhf/power.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/evlog.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/x86/events.h>


static volatile bool system_halting;

static const char *const vector_names[IDT_VECTORS] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP",
	"#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22", "23", "24", "25", "26", "27", "#HV",
	"#VC", "#SX", "31",
};

/* The line lock first, then the halt is published: a CPU stopped by the
 * halt's NMI never holds the lock, so the halting CPU always gets it (at
 * once if it holds it already: a fault while it printed). A CPU that halts
 * at the same time waits for the lock until the NMI stops it. */
NORETURN void halt_all_cpus(void)
{
	console_lock(this_cpu()->index);
	if (__atomic_exchange_n(&system_halting, true, __ATOMIC_SEQ_CST))
		cpu_halt_forever(); /* this CPU faulted while halting */
	if (cpu_count() > 1)
		lapic_send_ipi(0, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT | ICR_SHORTHAND_ALL_BUT_SELF);
	pr_err("xmhf: halted");
	console_drain_and_halt();
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xvlog(LOG_ERROR, fmt, ap);
	va_end(ap);
	halt_all_cpus();
}

static void dump(const struct exception_frame *f)
{
	pr_err("xmhf: cpu %u (apic %u): unexpected exception %s (vector %llu) error code 0x%llx",
	       this_cpu()->index, this_cpu()->apic_id, vector_names[f->vector], f->vector, f->error_code);
	pr_err("  rip=0x%016llx cs=0x%llx rflags=0x%llx rsp=0x%016llx ss=0x%llx", f->rip, f->cs, f->rflags,
	       f->rsp, f->ss);
	pr_err("  cr0=0x%llx cr2=0x%016llx cr3=0x%llx cr4=0x%llx", read_cr0(), read_cr2(), read_cr3(),
	       read_cr4());
	pr_err("  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx", f->rax, f->rbx, f->rcx, f->rdx);
	pr_err("  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx r8 =0x%016llx", f->rsi, f->rdi, f->rbp, f->r8);
	pr_err("  r9 =0x%016llx r10=0x%016llx r11=0x%016llx r12=0x%016llx", f->r9, f->r10, f->r11, f->r12);
	pr_err("  r13=0x%016llx r14=0x%016llx r15=0x%016llx", f->r13, f->r14, f->r15);
}

extern const u8 vmresume_check[], vmresume_insn[], vmlaunch_check[], vmlaunch_insn[];

/* An NMI while this CPU is in VMX root: an INIT request's kick, or an NMI
 * for the guest, injected before the next VM entry (REQUEST_NMI: the exit
 * path may have looked at nmi_pending already). A VM entry that already
 * tested the request bits is rewound to test them again (see vmentry.S). */
static void nmi_in_root(struct exception_frame *f)
{
	struct percpu *p = this_cpu();

	evlog_count(nmi_received);
	if (!nmi_is_kick(p) && p->in_guest) {
		__atomic_fetch_add(&p->nmi_pending, 1, __ATOMIC_RELAXED);
		__atomic_fetch_or(&p->requests, REQUEST_NMI, __ATOMIC_SEQ_CST);
		evlog_count(nmi_deferred);
	}
	if (f->rip > (u64)vmresume_check && f->rip <= (u64)vmresume_insn)
		f->rip = (u64)vmresume_check;
	else if (f->rip > (u64)vmlaunch_check && f->rip <= (u64)vmlaunch_insn)
		f->rip = (u64)vmlaunch_check;
}

void exception_entry(struct exception_frame *f)
{
	if (f->vector == VECTOR_NMI) {
		/* A stopped CPU prints nothing: it may have been interrupted
		 * inside the console. */
		if (system_halting)
			cpu_halt_forever();
		nmi_in_root(f);
		return;
	}
	u64 fixup = ex_table_lookup(f->rip);
	if (fixup) {
		f->rip = fixup;
		return;
	}
	dump(f);
	halt_all_cpus();
}
