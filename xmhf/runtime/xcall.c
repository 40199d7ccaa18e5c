/* Cross-CPU requests, shootdowns and the quiesce (xcall.h).
 *
 * A target acts on a request only at a stop point, where it holds no lock;
 * so a stopped CPU never holds the console line lock (XMHF64 bug_024) and a
 * quiescer needs no lock but the quiesce lock and the EPT lock (which it
 * takes before it stops anyone, so no shootdown waits on a stopped CPU).
 * The NMI that kicks a target is consumed as a kick and every other NMI
 * counts for the guest (percpu.h): quiesces and shootdowns neither lose nor
 * invent guest NMIs. */
#include <runtime/ept01.h>
#include <runtime/percpu.h>
#include <runtime/xcall.h>
#include <xmhf/cpu.h>
#include <xmhf/evlog.h>
#include <xmhf/lapic.h>
#include <xmhf/vmx.h>

static struct spinlock quiesce_lock;
static u32 n_stopped, n_resumed;
static bool resume;

void xcall_kick(u32 cpu)
{
	if (nmi_kick_needed(&percpu[cpu])) {
		lapic_send_ipi(percpu[cpu].apic_id, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
		evlog_count(kicks_sent);
	}
}

void xcall_post(u32 cpu, u32 requests, bool kick)
{
	__atomic_fetch_or(&percpu[cpu].requests, requests, __ATOMIC_SEQ_CST);
	if (kick)
		xcall_kick(cpu);
}

/* The bit is cleared before the INVEPT and the ack counted after it: a
 * waiter (serialized by the EPT lock) sees its own INVEPT done. */
static void do_invept(struct percpu *p)
{
	u32 r = __atomic_fetch_and(&p->requests, ~(u32)REQUEST_INVEPT, __ATOMIC_SEQ_CST);
	if (!(r & REQUEST_INVEPT))
		return;
	ept01_flush(p->index);
	__atomic_add_fetch(&p->invept_acks, 1, __ATOMIC_SEQ_CST);
	evlog_count(shootdowns_applied);
}

/* Wait for the quiescer; resume cleared only after every CPU counted out
 * (XMHF64 bug_018: a late CPU must never miss the resume). */
static void stop(struct percpu *p)
{
	evlog_count(stops);
	__atomic_add_fetch(&n_stopped, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&resume, __ATOMIC_ACQUIRE))
		cpu_relax();
	do_invept(p);
	__atomic_add_fetch(&n_resumed, 1, __ATOMIC_SEQ_CST);
}

void xcall_requests(void)
{
	struct percpu *p = this_cpu();
	u32 r = __atomic_fetch_and(&p->requests, ~(u32)REQUEST_STOP, __ATOMIC_SEQ_CST);
	if (r & REQUEST_STOP)
		stop(p);
	do_invept(p);
}

void xcall_lock(struct spinlock *l)
{
	while (!spin_trylock(l, this_cpu()->index)) {
		xcall_requests();
		cpu_relax();
	}
}

void xcall_invept_wait(u64 cpus)
{
	u32 self = this_cpu()->index;
	u32 before[MAX_CPUS];

	evlog_count(shootdowns_sent);

	for (u32 cpu = 0; cpu < cpu_count(); cpu++) {
		if (!(cpus & BIT(cpu)))
			continue;
		before[cpu] = __atomic_load_n(&percpu[cpu].invept_acks, __ATOMIC_SEQ_CST);
		xcall_post(cpu, REQUEST_INVEPT, cpu != self);
	}
	for (u32 cpu = 0; cpu < cpu_count(); cpu++) {
		if (cpu == self && (cpus & BIT(cpu)))
			do_invept(this_cpu());
		while ((cpus & BIT(cpu)) && __atomic_load_n(&percpu[cpu].invept_acks, __ATOMIC_SEQ_CST) == before[cpu])
			cpu_relax();
	}
}

static void wait_count(u32 *count, u32 n)
{
	while (__atomic_load_n(count, __ATOMIC_SEQ_CST) != n)
		cpu_relax();
}

void quiesce(void (*fn)(void *), void *arg)
{
	u32 self = this_cpu()->index, others = cpu_count() - 1;

	xcall_lock(&quiesce_lock);
	xcall_lock(ept01_lock());
	n_stopped = n_resumed = 0;
	u64 start = evlog_now();
	for (u32 cpu = 0; cpu < cpu_count(); cpu++)
		if (cpu != self)
			xcall_post(cpu, REQUEST_STOP, true);
	wait_count(&n_stopped, others);
	fn(arg);
	do_invept(this_cpu());
	__atomic_store_n(&resume, true, __ATOMIC_RELEASE);
	wait_count(&n_resumed, others);
	__atomic_store_n(&resume, false, __ATOMIC_RELEASE);
	evlog_count(quiesces);
	evlog_add(EVLOG_quiesce_ticks, evlog_now() - start);
	spin_unlock(ept01_lock());
	spin_unlock(&quiesce_lock);
}
