/* The test hypapp's guest interface (hypapps/test/test.c), shared with the
 * checks guest (tests/guests/checks/hypapp.c): plain numbers, no types. */
#ifndef HYPAPP_TEST_ABI_H
#define HYPAPP_TEST_ABI_H

#define TEST_CPUID_LEAF 0x7e570000u
#define TEST_SIGNATURE_EBX 0x74736554u /* "TestHypapp!!" in EBX, ECX, EDX */
#define TEST_SIGNATURE_ECX 0x61707948u
#define TEST_SIGNATURE_EDX 0x21217070u
#define TEST_HC_ECHO 0x7e570001u   /* RAX = RBX + 1, RCX = the CPU's index */
#define TEST_HC_BP_ON 0x7e570002u  /* intercept #BP on this CPU */
#define TEST_HC_BP_OFF 0x7e570003u /* stop intercepting it */
#define TEST_BP_SEEN 0x7e57b000u   /* RAX after an intercepted INT3 (it continues after the INT3) */

#endif
