/* test [VALUE]: one TV_HC_TEST hypercall with RCX = VALUE (default 0x7e57); prints the
 * detection answer and the result; status 0 if the result is 0, else 1. */
#include <stdio.h>
#include <stdlib.h>
#include "pal_lib.h"
#include "programs.h"

int prog_test(int argc, char **argv)
{
	uintptr_t value = argc > 1 ? (uintptr_t)strtoull(argv[1], NULL, 0) : 0x7e57;
	require_trustvisor(argv[0]);
	struct tv_cpuid r = tv_cpuid();
	printf("TrustVisor: PAL id %#x, caller 64-bit %s, EPT12 %s\n", r.ebx,
	       r.ecx & TV_CPUID_ECX_64BIT ? "yes" : "no", r.ecx & TV_CPUID_ECX_EPT12 ? "yes" : "no");
	uintptr_t rc = tv_vmcall(TV_HC_TEST, value, 0, 0);
	printf("TV_HC_TEST(rcx=%#lx) returned %#lx\n", (unsigned long)value, (unsigned long)rc);
	return rc == 0 ? 0 : 1;
}
