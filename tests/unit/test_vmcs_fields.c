/* xmhf/include/xmhf/vmcs_fields.h: the X-macro table agrees with the
 * field-encoding rules of SDM Vol. 3 Appendix B (Table 26-21): bit 0 access
 * type (full), bits 9:1 index, bits 11:10 type, bit 12 reserved, bits 14:13
 * width, bits 31:15 reserved. */
#include "unit.h"
#include <xmhf/types.h>
#include <xmhf/vmcs_fields.h>

enum { W16 = 0, W64 = 1, W32 = 2, WNAT = 3 };
enum { T_CONTROL = 0, T_RO_DATA = 1, T_GUEST = 2, T_HOST = 3 };

struct field { const char *name; u32 enc; };
#define ENTRY(name, encoding) { #name, encoding },
static const struct field fields[] = { VMCS_FIELDS(ENTRY) };
#undef ENTRY
#define N_FIELDS ARRAY_SIZE(fields)

static bool starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }
static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}
static bool in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Read-only data fields (B.2.2, B.3.2, B.4.2), by name. */
static const char *const ro_data[] = {
	"GUEST_PHYSICAL_ADDRESS", "VM_INSTRUCTION_ERROR", "VM_EXIT_REASON", "VM_EXIT_INTR_INFO",
	"VM_EXIT_INTR_ERROR_CODE", "IDT_VECTORING_INFO", "IDT_VECTORING_ERROR_CODE", "VM_EXIT_INSTRUCTION_LEN",
	"VMX_INSTRUCTION_INFO", "EXIT_QUALIFICATION", "IO_RCX", "IO_RSI", "IO_RDI", "IO_RIP",
	"GUEST_LINEAR_ADDRESS", NULL,
};
/* Guest-state fields without the GUEST_ prefix, and other state of the
 * guest whose name does not say so. */
static const char *const guest_other[] = { "VMCS_LINK_POINTER", "VMX_PREEMPTION_TIMER_VALUE", NULL };

static int expected_type(const char *name)
{
	if (in(name, ro_data))
		return T_RO_DATA;
	if (starts(name, "GUEST_") || in(name, guest_other))
		return T_GUEST;
	if (starts(name, "HOST_"))
		return T_HOST;
	return T_CONTROL;
}

/* Width by name (Appendix B); -1: no rule, the table grew: add one. */
static int expected_width(const char *name)
{
	static const char *const w16[] = { "VPID", "POSTED_INTR_NOTIFY_VECTOR", "EPTP_INDEX", "GUEST_INTR_STATUS",
					   "GUEST_PML_INDEX", NULL };
	static const char *const w32[] = {
		"EXCEPTION_BITMAP", "PAGE_FAULT_ERROR_CODE_MASK", "PAGE_FAULT_ERROR_CODE_MATCH", "TPR_THRESHOLD",
		"PLE_GAP", "PLE_WINDOW", "VM_INSTRUCTION_ERROR", "VM_EXIT_REASON", "IDT_VECTORING_INFO",
		"VMX_INSTRUCTION_INFO", "GUEST_INTERRUPTIBILITY_INFO", "GUEST_ACTIVITY_STATE", "GUEST_SMBASE",
		"VMX_PREEMPTION_TIMER_VALUE", NULL,
	};
	static const char *const w64[] = { "IO_BITMAP_A", "IO_BITMAP_B", "MSR_BITMAP", "TSC_OFFSET",
					   "TSC_MULTIPLIER", "VM_FUNCTION_CONTROL", "VMREAD_BITMAP",
					   "VMWRITE_BITMAP", "XSS_EXIT_BITMAP", "GUEST_PHYSICAL_ADDRESS", NULL };
	static const char *const wnat[] = { "EXIT_QUALIFICATION", "IO_RCX", "IO_RSI", "IO_RDI", "IO_RIP",
					    "GUEST_LINEAR_ADDRESS", "GUEST_DR7", "GUEST_RSP", "GUEST_RIP",
					    "GUEST_RFLAGS", "GUEST_PENDING_DBG_EXCEPTIONS", "HOST_RSP", "HOST_RIP",
					    NULL };
	/* explicit names first, then the naming patterns */
	if (in(name, w16))
		return W16;
	if (in(name, w32))
		return W32;
	if (in(name, w64))
		return W64;
	if (in(name, wnat))
		return WNAT;
	if (ends(name, "_SELECTOR"))
		return W16;
	if (ends(name, "_LIMIT") || ends(name, "_AR_BYTES") || ends(name, "_EXEC_CONTROL") ||
	    ends(name, "_CONTROLS") || ends(name, "_COUNT") || ends(name, "_INTR_INFO") ||
	    ends(name, "_ERROR_CODE") || ends(name, "_INSTRUCTION_LEN") || ends(name, "SYSENTER_CS"))
		return W32;
	if (ends(name, "_ADDR") || ends(name, "_ADDRESS") || ends(name, "_POINTER") ||
	    starts(name, "EOI_EXIT_BITMAP") || starts(name, "GUEST_PDPTE") || ends(name, "_IA32_PAT") ||
	    ends(name, "_IA32_EFER") || ends(name, "_IA32_DEBUGCTL") || ends(name, "_PERF_GLOBAL_CTRL"))
		return W64;
	if (starts(name, "CR") || ends(name, "_CR0") || ends(name, "_CR3") ||
	    ends(name, "_CR4") || ends(name, "_BASE") || ends(name, "SYSENTER_ESP") || ends(name, "SYSENTER_EIP"))
		return WNAT;
	return -1;
}

static void test_table_is_not_trivial(void **state)
{
	(void)state;
	assert_true(N_FIELDS > 150);
	/* a few encodings straight from Appendix B */
	assert_int_equal(VMCS_GUEST_CR0, 0x6800);
	assert_int_equal(VMCS_VM_EXIT_REASON, 0x4402);
	assert_int_equal(VMCS_EPT_POINTER, 0x201a);
	assert_int_equal(VMCS_GUEST_TR_AR_BYTES, 0x4822);
	assert_int_equal(VMCS_HOST_RIP, 0x6c16);
}

static void test_encodings_and_names_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++)
		for (size_t j = i + 1; j < N_FIELDS; j++) {
			if (fields[i].enc == fields[j].enc)
				fail_msg("%s and %s both have encoding 0x%x", fields[i].name, fields[j].name,
					 fields[i].enc);
			if (strcmp(fields[i].name, fields[j].name) == 0)
				fail_msg("%s listed twice", fields[i].name);
		}
}

static void test_access_type_full_and_reserved_bits_clear(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (fields[i].enc & 1)
			fail_msg("%s 0x%x: access type (bit 0) must be 0 (full)", fields[i].name, fields[i].enc);
		if (fields[i].enc & (BIT(12) | ~0x7fffull))
			fail_msg("%s 0x%x: reserved bits set", fields[i].name, fields[i].enc);
	}
}

static void test_type_matches_group(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		int type = (int)((fields[i].enc >> 10) & 3), want = expected_type(fields[i].name);
		if (type != want)
			fail_msg("%s 0x%x: type %d, expected %d", fields[i].name, fields[i].enc, type, want);
	}
}

static void test_width_matches_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		int width = (int)((fields[i].enc >> 13) & 3), want = expected_width(fields[i].name);
		if (want < 0)
			fail_msg("%s: no width rule in this test; add one from SDM Appendix B", fields[i].name);
		if (width != want)
			fail_msg("%s 0x%x: width %d, expected %d", fields[i].name, fields[i].enc, width, want);
	}
}

/* The selector/limit/AR/base of ES..TR sit at the same index in their
 * groups: vmcs01.c relies on it. */
static void test_segment_fields_parallel(void **state)
{
	(void)state;
	const u32 sel[] = { VMCS_GUEST_ES_SELECTOR, VMCS_GUEST_CS_SELECTOR, VMCS_GUEST_SS_SELECTOR,
			    VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_GS_SELECTOR,
			    VMCS_GUEST_LDTR_SELECTOR, VMCS_GUEST_TR_SELECTOR };
	const u32 lim[] = { VMCS_GUEST_ES_LIMIT, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_DS_LIMIT,
			    VMCS_GUEST_FS_LIMIT, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_TR_LIMIT };
	const u32 ar[] = { VMCS_GUEST_ES_AR_BYTES, VMCS_GUEST_CS_AR_BYTES, VMCS_GUEST_SS_AR_BYTES,
			   VMCS_GUEST_DS_AR_BYTES, VMCS_GUEST_FS_AR_BYTES, VMCS_GUEST_GS_AR_BYTES,
			   VMCS_GUEST_LDTR_AR_BYTES, VMCS_GUEST_TR_AR_BYTES };
	const u32 base[] = { VMCS_GUEST_ES_BASE, VMCS_GUEST_CS_BASE, VMCS_GUEST_SS_BASE, VMCS_GUEST_DS_BASE,
			     VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_TR_BASE };
	for (u32 i = 0; i < 8; i++) {
		assert_int_equal(sel[i], VMCS_GUEST_ES_SELECTOR + 2 * i);
		assert_int_equal(lim[i], VMCS_GUEST_ES_LIMIT + 2 * i);
		assert_int_equal(ar[i], VMCS_GUEST_ES_AR_BYTES + 2 * i);
		assert_int_equal(base[i], VMCS_GUEST_ES_BASE + 2 * i);
	}
	const u32 pdpte[] = { VMCS_GUEST_PDPTE0, VMCS_GUEST_PDPTE1, VMCS_GUEST_PDPTE2, VMCS_GUEST_PDPTE3 };
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(pdpte[i], VMCS_GUEST_PDPTE0 + 2 * i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_not_trivial),
		cmocka_unit_test(test_encodings_and_names_unique),
		cmocka_unit_test(test_access_type_full_and_reserved_bits_clear),
		cmocka_unit_test(test_type_matches_group),
		cmocka_unit_test(test_width_matches_field),
		cmocka_unit_test(test_segment_fields_parallel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
