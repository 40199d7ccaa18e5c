/* PAL calls on this CPU (issue 8 point 4; README.md "Call path"). The guest calls a registered
 * entry point: its fetch is an EPT violation (the page is lent), tv_call_enter marshals the
 * arguments (tv_marshal.c) and runs the PAL in its world (tv_world.h), isolated
 * (guest_isolate_begin: interrupts off, FPU off, every exception exiting, NMIs held, a time
 * budget). The PAL returns by fetching the sentinel 0x4 (tv_call_exit: the pointer data copied
 * back, caller-saved registers scrubbed); any other exit ends the call with an error in the
 * caller's RAX (tv_call_fail). Other CPUs keep running: a PAL's pages are absent from every
 * EPT01 since its registration. */
#ifndef TV_CALL_H
#define TV_CALL_H

#include "tv_registry.h"
#include <xmhf/hypapp.h>
#include <xmhf/spinlock.h>

/* The PAL's time budget in TSC ticks: ~1.3 s at the 50 M instructions per second of our Bochs
 * runs, ~25 ms at 2.5 GHz. The VMX-preemption timer counts only the PAL's own (non-root) time;
 * the exits it may continue after (CPUID) check the whole time since the entry
 * (tv_call_overdue). */
#define TV_PAL_BUDGET_TICKS (1ull << 26)

/* The caller's paging mode (CR4.PAE, EFER.LMA; SDM Vol. 3 4.1.1). */
enum tv_paging tv_caller_paging(void);
/* The caller's registry key: tv_cr3_key of its CR3 as L1's guest-physical address (an L2
 * caller's through EPT12, so that two L2 guests never share a key), as L1 or L2 caller. False:
 * EPT12 does not map the caller's CR3. */
bool tv_caller_key(u64 *key);

/* The PAL this CPU runs, or NULL. */
const struct tv_pal *tv_call_running(void);

/* A fetch at 'entry' from CPL 3: the call of the PAL registered there for this address space
 * and mode (found and marked running under 'lock', then marshalled without it: calls on two
 * CPUs do not wait for each other; a PAL is added to the registry before its pages are lent
 * and scrubbed before it leaves it, so an unlocked overlap check never misses a PAL whose
 * pages hold its data), DONE; PASS if none is (or the caller's stack
 * holds no return address): the guest gets what the lent page gives. A PAL running on another
 * CPU: DONE without a change, so the caller's fetch repeats until it returns. */
enum hypapp_result tv_call_enter(struct tv_registry *r, struct spinlock *lock,
				 const struct tv_guest_mem *caller_mem, struct guest_regs *regs, gva_t entry);

/* An EPT violation inside a PAL: its return if it fetched the sentinel, else tv_call_fail. */
enum hypapp_result tv_call_exit(const struct tv_guest_mem *caller_mem, struct guest_regs *regs,
				const struct hypapp_ept_violation *v);

/* Whether the running PAL has used up its budget, its exits' time included. */
bool tv_call_overdue(void);

/* End the running PAL's call: the caller resumes after its call with RAX = err. */
enum hypapp_result tv_call_fail(struct guest_regs *regs, enum tv_error err);

#endif
