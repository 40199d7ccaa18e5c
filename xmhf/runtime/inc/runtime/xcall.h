/* Cross-CPU work: requests posted to a CPU (REQUEST_* bits of percpu.h),
 * a kick NMI so that a CPU in the guest sees them, shootdowns that wait
 * for the targets' acks, and the quiesce (stop every other CPU, run a
 * function, resume). A CPU acts on requests only at its stop points: before
 * each VM entry (apic_requests, vmentry.S), in wait-for-SIPI and while it
 * waits for a runtime lock; never in the NMI handler, which only consumes
 * the kick (docs/architecture.md "Locks and NMIs"). */
#ifndef RUNTIME_XCALL_H
#define RUNTIME_XCALL_H

#include <xmhf/spinlock.h>
#include <xmhf/types.h>

/* Post REQUEST_* bits to cpu; with kick, make it leave the guest too. */
void xcall_post(u32 cpu, u32 requests, bool kick);
/* An NMI to cpu unless one is already on its way (percpu.h kicks). */
void xcall_kick(u32 cpu);
/* A stop point: act on this CPU's REQUEST_STOP and REQUEST_INVEPT. */
void xcall_requests(void);
/* INVEPT on every CPU in the mask (bit = CPU index; this CPU at once), and
 * return when each has done it. The caller holds the EPT lock. */
void xcall_invept_wait(u64 cpus);
/* Take a runtime lock, acting on requests while it waits (a quiescer may
 * hold it while it waits for this CPU to stop). */
void xcall_lock(struct spinlock *l);

/* Stop every other CPU at a stop point, run fn(arg) on this one, resume
 * them; a REQUEST_INVEPT that fn posts is done by each CPU before it
 * resumes, so when quiesce returns no CPU uses an EPT entry fn changed.
 * Quiesces are serialized; fn must not wait for another CPU. */
void quiesce(void (*fn)(void *), void *arg);

/* Test builds (CONFIG_TEST_HYPERCALLS): VMCALL with EAX = XCALL_TEST_MAGIC
 * runs the test hypercall ECX (xcall_test.c); true if it handled the exit. */
struct guest_regs;
bool xcall_debug_hypercall(struct guest_regs *regs);

#endif
