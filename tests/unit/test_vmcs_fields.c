/* xmhf/include/xmhf/vmcs_fields.h: the X-macro table agrees with the
 * field-encoding rules of SDM Vol. 3 Appendix B (Table 26-21): bit 0 access
 * type (full), bits 9:1 index, bits 11:10 type, bit 12 reserved, bits 14:13
 * width, bits 31:15 reserved; its width and property columns agree with the
 * encodings and with each other; every field of Appendix B is in it. */
#include "unit.h"
#include <xmhf/types.h>
#include <xmhf/vmcs_fields.h>

enum { T_CONTROL = VMCS_TYPE_CTRL, T_RO_DATA = VMCS_TYPE_RO, T_GUEST = VMCS_TYPE_GUEST, T_HOST = VMCS_TYPE_HOST };

struct field {
	const char *name;
	u32 enc, width, props;
	struct vmcs_exists exists;
};
#define ENTRY(name, encoding, width, props, exists) { #name, encoding, width, props, exists },
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
					   "GUEST_PML_INDEX", "HLAT_PREFIX_SIZE", "LAST_PID_POINTER_INDEX",
					   "GUEST_UINV", NULL };
	static const char *const w32[] = {
		"EXCEPTION_BITMAP", "PAGE_FAULT_ERROR_CODE_MASK", "PAGE_FAULT_ERROR_CODE_MATCH", "TPR_THRESHOLD",
		"PLE_GAP", "PLE_WINDOW", "VM_INSTRUCTION_ERROR", "VM_EXIT_REASON", "IDT_VECTORING_INFO",
		"VMX_INSTRUCTION_INFO", "GUEST_INTERRUPTIBILITY_INFO", "GUEST_ACTIVITY_STATE", "GUEST_SMBASE",
		"VMX_PREEMPTION_TIMER_VALUE", "INSTRUCTION_TIMEOUT_CONTROL", NULL,
	};
	static const char *const w64[] = { "IO_BITMAP_A", "IO_BITMAP_B", "MSR_BITMAP", "TSC_OFFSET",
					   "TSC_MULTIPLIER", "VM_FUNCTION_CONTROL", "VMREAD_BITMAP",
					   "VMWRITE_BITMAP", "XSS_EXIT_BITMAP", "GUEST_PHYSICAL_ADDRESS",
					   "ENCLS_EXIT_BITMAP", "ENCLV_EXIT_BITMAP", "PCONFIG_EXIT_BITMAP",
					   "TERTIARY_VM_EXEC_CONTROL", "SECONDARY_VM_EXIT_CONTROLS", "GUEST_IA32_BNDCFGS",
					   "GUEST_IA32_RTIT_CTL", "GUEST_IA32_LBR_CTL", "GUEST_IA32_PKRS", "HOST_IA32_PKRS",
					   NULL };
	static const char *const wnat[] = { "EXIT_QUALIFICATION", "IO_RCX", "IO_RSI", "IO_RDI", "IO_RIP",
					    "GUEST_LINEAR_ADDRESS", "GUEST_DR7", "GUEST_RSP", "GUEST_RIP",
					    "GUEST_RFLAGS", "GUEST_PENDING_DBG_EXCEPTIONS", "HOST_RSP", "HOST_RIP",
					    "GUEST_IA32_S_CET", "GUEST_SSP", "GUEST_INTR_SSP_TABLE_ADDR", "HOST_IA32_S_CET",
					    "HOST_SSP", "HOST_INTR_SSP_TABLE_ADDR", NULL };
	/* explicit names first, then the naming patterns */
	if (in(name, w16))
		return W16;
	if (in(name, w32))
		return W32;
	if (in(name, w64))
		return W64;
	if (in(name, wnat))
		return WN;
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
		return WN;
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
		int type = (int)VMCS_ENC_TYPE(fields[i].enc), want = expected_type(fields[i].name);
		if (type != want)
			fail_msg("%s 0x%x: type %d, expected %d", fields[i].name, fields[i].enc, type, want);
	}
}

static void test_width_matches_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		int width = (int)VMCS_ENC_WIDTH(fields[i].enc), want = expected_width(fields[i].name);
		if (want < 0)
			fail_msg("%s: no width rule in this test; add one from SDM Appendix B", fields[i].name);
		if (width != want)
			fail_msg("%s 0x%x: width %d, expected %d", fields[i].name, fields[i].enc, width, want);
		if ((int)fields[i].width != width)
			fail_msg("%s 0x%x: width column %u, encoding says %d", fields[i].name, fields[i].enc,
				 fields[i].width, width);
	}
}

static u32 popcount(u32 v) { return (u32)__builtin_popcount(v); }

/* One type flag, the one bits 11:10 say; one nested handling; GPADDR only
 * on 64-bit fields; L0 only (and every supported) host field; read-only
 * data never goes L1 -> VMCS02 (copy back, or its own translator); hot
 * only on fields L1 can write. */
static void test_property_flags_consistent(void **state)
{
	(void)state;
	static const u32 type_flag[4] = { [T_CONTROL] = VF_CTRL, [T_RO_DATA] = VF_RO, [T_GUEST] = VF_GUEST,
					  [T_HOST] = VF_HOST };
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct field *f = &fields[i];
		u32 type = f->props & VF_TYPE_MASK, nested = f->props & VF_NESTED_MASK;
		if (f->props & ~(VF_TYPE_MASK | VF_NESTED_MASK | VF_HOT))
			fail_msg("%s: unknown property bits 0x%x", f->name, f->props);
		if (type != type_flag[VMCS_ENC_TYPE(f->enc)])
			fail_msg("%s 0x%x: type flags 0x%x disagree with bits 11:10", f->name, f->enc, type);
		if (popcount(nested) != 1)
			fail_msg("%s: nested handling flags 0x%x, want exactly one", f->name, nested);
		if ((f->props & VF_GPADDR) && f->width != W64)
			fail_msg("%s: GPADDR on a field that is not 64-bit", f->name);
		if ((f->props & VF_L0) && !(f->props & VF_HOST))
			fail_msg("%s: taken from L0 but not host state", f->name);
		if ((f->props & VF_HOST) && !(f->props & (VF_L0 | VF_UNSUPP)))
			fail_msg("%s: host state neither taken from L0 nor unsupported", f->name);
		if ((f->props & VF_RO) && !(f->props & (VF_COPY | VF_XLATE)))
			fail_msg("%s: read-only data must be copied back or translated", f->name);
		if ((f->props & VF_HOT) && (f->props & (VF_RO | VF_IGNORED | VF_UNSUPP)))
			fail_msg("%s: hot (VMWRITE-shadowed) but not a field L1 writes", f->name);
	}
}

/* Existence: capability kinds in range; a missing second condition has no
 * bit; a condition names exactly one control bit; an unsupported field
 * depends on a capability (L1's capability MSRs can then hide it:
 * test_nested_caps.c checks that they do). */
static void test_existence_conditions(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct field *f = &fields[i];
		for (int c = 0; c < 2; c++) {
			u8 cap = f->exists.cap[c];
			u64 bit = f->exists.bit[c];
			if (cap >= CAP_COUNT)
				fail_msg("%s: capability kind %u", f->name, cap);
			if ((cap == CAP_NONE || cap == CAP_ALWAYS) && bit)
				fail_msg("%s: condition %d has bit 0x%llx without a capability", f->name, c,
					 (unsigned long long)bit);
			if (cap > CAP_ALWAYS && __builtin_popcountll(bit) != 1)
				fail_msg("%s: condition %d names 0x%llx, want one control bit", f->name, c,
					 (unsigned long long)bit);
		}
		if (f->exists.cap[1] == CAP_ALWAYS)
			fail_msg("%s: ALWAYS only as the first condition", f->name);
		if ((f->props & VF_UNSUPP) && f->exists.cap[0] == CAP_ALWAYS)
			fail_msg("%s: unsupported but exists on every processor", f->name);
	}
}

/* 64-bit fields have a high half at encoding + 1 (26.11.2), which is no
 * other field's encoding: the table lists full encodings only. */
static void test_high_halves(void **state)
{
	(void)state;
	u32 n64 = 0;
	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].width == W64) {
			n64++;
			for (size_t j = 0; j < N_FIELDS; j++)
				if (fields[j].enc == (fields[i].enc | VMCS_ENC_HIGH))
					fail_msg("%s's high half is listed as %s", fields[i].name, fields[j].name);
		}
	assert_true(n64 > 40);
}

/* Every encoding of SDM Vol. 3 Appendix B (Tables B-1 to B-14, 2023 SDM),
 * as ranges of consecutive even encodings: each is in the table, and the
 * table has no other. */
static void test_appendix_b_complete(void **state)
{
	(void)state;
	static const struct { u32 first, last; } appendix_b[] = {
		{ 0x0000, 0x0008 }, { 0x0800, 0x0814 }, { 0x0c00, 0x0c0c },  /* 16-bit */
		{ 0x2000, 0x2044 }, { 0x2400, 0x2400 }, { 0x2800, 0x2818 }, { 0x2c00, 0x2c06 }, /* 64-bit */
		{ 0x4000, 0x4024 }, { 0x4400, 0x440e }, { 0x4800, 0x482a }, { 0x482e, 0x482e }, /* 32-bit */
		{ 0x4c00, 0x4c00 },
		{ 0x6000, 0x600e }, { 0x6400, 0x640a }, { 0x6800, 0x682c }, { 0x6c00, 0x6c1c }, /* natural */
	};
	u32 total = 0;
	for (size_t r = 0; r < ARRAY_SIZE(appendix_b); r++)
		for (u32 enc = appendix_b[r].first; enc <= appendix_b[r].last; enc += 2) {
			bool found = false;
			for (size_t i = 0; i < N_FIELDS; i++)
				found |= fields[i].enc == enc;
			if (!found)
				fail_msg("Appendix B field 0x%x is missing", enc);
			total++;
		}
	assert_int_equal(total, N_FIELDS);
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
		cmocka_unit_test(test_property_flags_consistent),
		cmocka_unit_test(test_existence_conditions),
		cmocka_unit_test(test_high_halves),
		cmocka_unit_test(test_appendix_b_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
