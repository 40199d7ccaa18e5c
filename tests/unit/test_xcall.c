/* xmhf/runtime/xcall.c: cross-CPU requests, kicks, shootdowns and the
 * quiesce. The concurrent tests run one thread per CPU (fake_cpu.c's
 * current CPU is per thread); a kick NMI is delivered at once by the fake
 * lapic_send_ipi below (the target's NMI handler consumes the kick). CPUs
 * act on requests only at their stop points (xcall_requests), here in the
 * threads' loops, as the hypervisor does before each VM entry. */
#include "fake_cpu.h"
#include <pthread.h>
#include <runtime/ept01.h>
#include <runtime/xcall.h>
#include <xmhf/console.h>
#include <xmhf/lapic.h>
#include <xmhf/mtrr.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>

#define N_CPUS 4
#define ROUNDS 200
#define PAGE 0x1234000ull

static u32 nmis[N_CPUS], guest_nmis[N_CPUS];

/* The NMI reaches the target at once: a kick is consumed, any other NMI
 * is the guest's (as nmi_in_root in exceptions.c). */
bool lapic_send_ipi(u32 dest_apic_id, u32 icr_low)
{
	u32 cpu = cpu_index_of(&cpu_index, dest_apic_id);
	assert_int_equal(icr_low, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
	__atomic_add_fetch(&nmis[cpu], 1, __ATOMIC_SEQ_CST);
	if (!nmi_is_kick(&percpu[cpu]))
		__atomic_add_fetch(&guest_nmis[cpu], 1, __ATOMIC_SEQ_CST);
	return true;
}

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	msr_set(MSR_MTRRCAP, 0);
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_WB);
	for (u32 i = 0; i < N_CPUS; i++) {
		cpu_register(2 * i);
		percpu[i].vmx.ept_vpid = FAKE_EPT_CAPS;
		ept01_init_mtrr(i);
		ept01_build(i);
	}
	memset(nmis, 0, sizeof(nmis));
	memset(guest_nmis, 0, sizeof(guest_nmis));
	return 0;
}

/* Kicks never merge with guest NMIs: one NMI per kick in flight, the
 * guest's own NMIs counted apart. */
static void test_post_kicks_once(void **state)
{
	(void)state;
	percpu[2].kick_pending = 1; /* a kick NMI still on its way */
	xcall_post(2, REQUEST_INVEPT, true);
	assert_int_equal(nmis[2], 0);
	assert_int_equal(percpu[2].requests, REQUEST_INVEPT);
	assert_true(nmi_is_kick(&percpu[2]));  /* it arrives: the kick */
	assert_false(nmi_is_kick(&percpu[2])); /* the next NMI is the guest's */
	xcall_post(2, REQUEST_STOP, true);
	assert_int_equal(nmis[2], 1);
	assert_int_equal(guest_nmis[2], 0);
	assert_int_equal(percpu[2].requests, REQUEST_INVEPT | REQUEST_STOP);
	xcall_post(3, REQUEST_INVEPT, false);
	assert_int_equal(nmis[3], 0);
}

/* A stop point does the INVEPT of this CPU's own EPT01 and acks it. */
static void test_invept_request(void **state)
{
	(void)state;
	fake_set_cpu(1);
	xcall_post(1, REQUEST_INVEPT, false);
	u32 calls = fake_invept_calls;
	xcall_requests();
	assert_int_equal(fake_invept_calls, calls + 1);
	assert_int_equal(fake_invept_eptp, ept01_eptp(1));
	assert_int_equal(percpu[1].invept_acks, 1);
	assert_int_equal(percpu[1].requests, 0);
	xcall_requests(); /* nothing posted: nothing done */
	assert_int_equal(fake_invept_calls, calls + 1);
}

/* --- concurrent: one thread per CPU --- */
static volatile bool done;
static u32 progress[N_CPUS];
static u32 quiesces_run, callbacks_ok, set_all_ok;

/* While the others are stopped: none makes progress, and the console line
 * lock is free (no CPU stops holding it: XMHF64 bug_024). */
static void check_stopped(void *arg)
{
	u32 self = *(u32 *)arg, before[N_CPUS];
	for (u32 i = 0; i < N_CPUS; i++)
		before[i] = __atomic_load_n(&progress[i], __ATOMIC_SEQ_CST);
	for (volatile int i = 0; i < 20000; i++)
		;
	bool ok = true;
	for (u32 i = 0; i < N_CPUS; i++)
		ok &= i == self || __atomic_load_n(&progress[i], __ATOMIC_SEQ_CST) == before[i];
	console_lock(self);
	console_unlock();
	for (u32 i = 0; i < N_CPUS; i++)
		if (i != self)
			xcall_post(i, REQUEST_INVEPT, false); /* done before they resume */
	quiesces_run++;
	callbacks_ok += ok;
}

/* CPU 0 and 1 quiesce; 2 sets rights on every CPU; all print under the
 * console lock and pass their stop point each round. */
static void *cpu_thread(void *arg)
{
	u32 cpu = (u32)(uintptr_t)arg;
	fake_set_cpu(cpu);
	for (u32 round = 0; !done; round++) {
		console_lock(cpu);
		for (volatile int i = 0; i < 100; i++)
			;
		console_unlock();
		if (cpu < 2 && round < ROUNDS) {
			u32 acks[N_CPUS];
			for (u32 i = 0; i < N_CPUS; i++)
				acks[i] = percpu[i].invept_acks;
			quiesce(check_stopped, &cpu);
			for (u32 i = 0; i < N_CPUS; i++)
				assert_true(i == cpu || percpu[i].invept_acks > acks[i]);
		}
		if (cpu == 2 && round < ROUNDS) {
			u64 rwx = round % 2 ? EPT_RWX : EPT_R;
			assert_true(ept01_set_prot_all(l1_gpa(PAGE), rwx));
			for (u32 i = 0; i < N_CPUS; i++)
				assert_int_equal(ept01_get_prot(i, l1_gpa(PAGE)), rwx);
			__atomic_add_fetch(&set_all_ok, 1, __ATOMIC_SEQ_CST);
		}
		__atomic_add_fetch(&progress[cpu], 1, __ATOMIC_SEQ_CST);
		xcall_requests();
	}
	return NULL;
}

static void test_quiesce_and_shootdowns_concurrent(void **state)
{
	(void)state;
	pthread_t t[N_CPUS];
	done = false;
	quiesces_run = callbacks_ok = set_all_ok = 0;
	for (u32 i = 0; i < N_CPUS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, cpu_thread, (void *)(uintptr_t)i), 0);
	while (__atomic_load_n(&quiesces_run, __ATOMIC_SEQ_CST) < 2 * ROUNDS ||
	       __atomic_load_n(&set_all_ok, __ATOMIC_SEQ_CST) < ROUNDS)
		sched_yield();
	done = true;
	for (u32 i = 0; i < N_CPUS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(quiesces_run, 2 * ROUNDS);
	assert_int_equal(callbacks_ok, 2 * ROUNDS);
	for (u32 i = 0; i < N_CPUS; i++)
		assert_int_equal(guest_nmis[i], 0); /* every NMI sent was a kick */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_post_kicks_once, setup),
		cmocka_unit_test_setup(test_invept_request, setup),
		cmocka_unit_test_setup(test_quiesce_and_shootdowns_concurrent, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
