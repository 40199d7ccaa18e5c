/* The SDM's VM-entry checks on the guest-state area (SDM Vol. 3 27.3.1)
 * and on the event-injection fields (27.2.1.3), applied to the fake VMCS
 * of the current CPU: a unit test calls it after an emulated result to
 * show that the next VM entry would succeed. */
#ifndef VMENTRY_CHECK_H
#define VMENTRY_CHECK_H

#include "fake_cpu.h"

#define VMENTRY_MAX_FAILURES 8
#define VMENTRY_RULE_NAME 64

/* The rules the VMCS breaks, each by name (the first VMENTRY_MAX_FAILURES
 * kept, n counts them all). */
struct vmentry_failures {
	u32 n;
	char rule[VMENTRY_MAX_FAILURES][VMENTRY_RULE_NAME];
};

void vmentry_check(struct vmentry_failures *f);
/* Fail the test, naming every broken rule, unless VM entry would succeed. */
void assert_vmentry_ok(void);
/* Build VMCS01 on `cpu` as vmcs01_init does for skylake_x (the INIT
 * state), for tests of handlers that run on it. */
void vmentry_vmcs01(u32 cpu);

#endif
