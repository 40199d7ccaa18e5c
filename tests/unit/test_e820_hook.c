/* xmhf/runtime/e820_hook.c: INT 15h AX=E820h as a BIOS caller sees it
 * (ACPI 6.5 15.1): the guest executed INT 15h (FLAGS, CS, IP pushed),
 * reached the stub's VMCALL at 0040:00AC. */
#include "fake_cpu.h"
#include <runtime/guest_ram.h>
#include <runtime/exit_handlers.h>
#include <runtime/vmx_ops.h>
#include <xmhf/e820.h>
#include <xmhf/vmx.h>

#define SMAP 0x534d4150u
#define STUB_CS 0x40
#define STUB_IP 0xac
#define BIOS_INT15 0xf000f859u
#define SS_BASE 0x30000
#define SP 0xfffa
#define BUF_ES 0x1000
#define BUF_DI 0x20
#define RFLAGS_CF BIT(0)

struct e820_map guest_e820;
static struct guest_regs regs;

static u16 *iret_flags(void) { return (u16 *)guest_mem(SS_BASE + SP + 4, 2); }
static u8 *buffer(void) { return guest_mem(BUF_ES * 16 + BUF_DI, 32); }

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	memcpy(guest_mem(0x15 * 4, 4), &(u32){ BIOS_INT15 }, 4);
	e820_hook_install();
	memset(&guest_e820, 0, sizeof(guest_e820));
	assert_true(e820_add(&guest_e820, 0, 0x9fc00, E820_RAM));
	assert_true(e820_add(&guest_e820, 0x9fc00, 0x400, E820_RESERVED));
	assert_true(e820_add(&guest_e820, 0x100000, 0x7fe00000, E820_RAM));
	assert_true(e820_add(&guest_e820, 0x10000000, 0x2000000, E820_RESERVED)); /* the hypervisor */
	assert_true(e820_add(&guest_e820, 0xfffc0000, 0x40000, E820_RESERVED));
	assert_true(e820_add(&guest_e820, 0x100000000, 0x180000000, E820_RAM));
	return 0;
}

/* Enter the stub as INT 15h does, with the caller's FLAGS having flags. */
static void int15(u32 eax, u32 ebx, u32 ecx, u32 edx, u16 es, u16 di, u16 flags)
{
	regs = (struct guest_regs){ .rax = eax, .rbx = ebx, .rcx = ecx, .rdx = edx, .rdi = 0xffff0000ull | di };
	vmcs_set(VMCS_GUEST_CR0, CR0_NE | CR0_ET);
	vmcs_set(VMCS_GUEST_CS_SELECTOR, STUB_CS);
	vmcs_set(VMCS_GUEST_CS_BASE, STUB_CS * 16);
	vmcs_set(VMCS_GUEST_RIP, STUB_IP);
	vmcs_set(VMCS_GUEST_SS_BASE, SS_BASE);
	vmcs_set(VMCS_GUEST_RSP, 0xabcd0000ull | SP);
	vmcs_set(VMCS_GUEST_ES_BASE, (u64)es * 16);
	*iret_flags() = flags;
	handle_vmcall(&regs);
}

static void test_install(void **state)
{
	(void)state;
	const u8 stub[] = { 0x0f, 0x01, 0xc1, 0xcf }; /* VMCALL; IRET */
	assert_memory_equal(guest_mem(STUB_CS * 16 + STUB_IP, 4), stub, 4);
	u32 vector;
	memcpy(&vector, guest_mem(0x54, 4), 4);
	assert_int_equal(vector, (STUB_CS << 16) | STUB_IP);
}

static void walk(u32 ecx, u32 want_size)
{
	u32 ebx = 0, n = 0;
	do {
		memset(buffer(), 0xcc, 32);
		int15(0xe820, ebx, ecx, SMAP, BUF_ES, BUF_DI, 0x3203);
		assert_int_equal(*iret_flags(), 0x3202); /* CF cleared, rest kept */
		assert_int_equal(regs.rax, SMAP);
		assert_int_equal(regs.rcx, want_size);
		assert_int_equal(vmcs_get(VMCS_GUEST_RIP), STUB_IP + 3); /* on to the IRET */
		assert_true(n < guest_e820.n);
		const struct e820_entry *e = &guest_e820.e[n];
		u64 base, length;
		u32 type, attr;
		memcpy(&base, buffer(), 8);
		memcpy(&length, buffer() + 8, 8);
		memcpy(&type, buffer() + 16, 4);
		memcpy(&attr, buffer() + 20, 4);
		assert_int_equal(base, e->base);
		assert_int_equal(length, e->length);
		assert_int_equal(type, e->type);
		assert_int_equal(attr, want_size == 24 ? 1 : 0xcccccccc);
		assert_int_equal(buffer()[want_size], 0xcc);
		ebx = (u32)regs.rbx;
		n++;
	} while (ebx != 0);
	assert_int_equal(n, guest_e820.n); /* the last entry too, then EBX = 0 */
}

static void test_walk_20_bytes(void **state) { (void)state; walk(20, 20); }
static void test_walk_24_bytes(void **state) { (void)state; walk(24, 24); walk(64, 24); }

static void test_bad_requests_set_cf(void **state)
{
	(void)state;
	int15(0xe820, guest_e820.n, 20, SMAP, BUF_ES, BUF_DI, 0x0202);
	assert_int_equal(*iret_flags(), 0x0203);
	assert_int_equal((regs.rax >> 8) & 0xff, 0x86);
	int15(0xe820, 0x12345, 20, SMAP, BUF_ES, BUF_DI, 0x0202);
	assert_int_equal(*iret_flags(), 0x0203);
	int15(0xe820, 0, 19, SMAP, BUF_ES, BUF_DI, 0x0202); /* buffer too small */
	assert_int_equal(*iret_flags(), 0x0203);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), STUB_IP + 3);
}

static void test_buffer_in_hypervisor_refused(void **state)
{
	(void)state;
	u16 es = (u16)(FAKE_HV_BASE >> 4);
	memset(guest_mem(FAKE_HV_BASE, 32), 0x5a, 32);
	int15(0xe820, 0, 24, SMAP, es, 0, 0x0202);
	assert_int_equal(*iret_flags(), 0x0203);
	for (u32 i = 0; i < 32; i++)
		assert_int_equal(guest_mem(FAKE_HV_BASE, 32)[i], 0x5a);
	/* straddling into it from below */
	int15(0xe820, 0, 24, SMAP, (u16)((FAKE_HV_BASE - 16) >> 4), 0, 0x0202);
	assert_int_equal(*iret_flags(), 0x0203);
	assert_int_equal(guest_mem(FAKE_HV_BASE, 1)[0], 0x5a);
}

/* A buffer that is not guest RAM (reserved EBDA, the VGA hole) is not
 * written: the call fails as for an unsupported request. */
static void test_buffer_outside_ram_refused(void **state)
{
	(void)state;
	guest_ram_init(&guest_e820, NULL, 0);
	memset(guest_mem(0x9fc00, 32), 0x5a, 32);
	memset(guest_mem(0xb8000, 32), 0x5a, 32);
	int15(0xe820, 0, 24, SMAP, 0x9fc0, 0, 0x0202);
	assert_int_equal(*iret_flags(), 0x0203);
	int15(0xe820, 0, 24, SMAP, 0x9fb0, 0xf0, 0x0202); /* straddles RAM -> reserved */
	assert_int_equal(*iret_flags(), 0x0203);
	int15(0xe820, 0, 20, SMAP, 0xb800, 0, 0x0202);
	assert_int_equal(*iret_flags(), 0x0203);
	for (u32 i = 0; i < 32; i++)
		assert_true(guest_mem(0x9fc00, 32)[i] == 0x5a && guest_mem(0xb8000, 32)[i] == 0x5a);
	assert_int_equal(guest_mem(0x9fbf0, 16)[0], 0);
	int15(0xe820, 0, 24, SMAP, BUF_ES, BUF_DI, 0x0202); /* RAM: answered */
	assert_int_equal(*iret_flags(), 0x0202);
}

static void test_other_functions_chained(void **state)
{
	(void)state;
	int15(0xe801, 0, 0, 0, 0, 0, 0x0202);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), 0xf000);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE), 0xf0000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0xf859);
	assert_int_equal(*iret_flags(), 0x0202); /* the BIOS's business */
	assert_int_equal(regs.rax, 0xe801);
	int15(0xe820, 0, 20, 0x12345678, BUF_ES, BUF_DI, 0x0202); /* EDX not 'SMAP' */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0xf859);
	int15(0x2401, 0, 0, 0, 0, 0, 0x0202);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), 0xf000);
}

static void test_vmcall_elsewhere_is_ud(void **state)
{
	(void)state;
	int15(0xe820, 0, 20, SMAP, BUF_ES, BUF_DI, 0x0202);
	vmcs_set(VMCS_GUEST_RIP, 0x1234);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	handle_vmcall(&regs);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x1234);
	/* in protected mode the stub address means nothing */
	vmcs_set(VMCS_GUEST_RIP, STUB_IP);
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_NE | CR0_ET);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	handle_vmcall(&regs);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_install, setup),
		cmocka_unit_test_setup(test_walk_20_bytes, setup),
		cmocka_unit_test_setup(test_walk_24_bytes, setup),
		cmocka_unit_test_setup(test_bad_requests_set_cf, setup),
		cmocka_unit_test_setup(test_buffer_in_hypervisor_refused, setup),
		cmocka_unit_test_setup(test_buffer_outside_ram_refused, setup),
		cmocka_unit_test_setup(test_other_functions_chained, setup),
		cmocka_unit_test_setup(test_vmcall_elsewhere_is_ud, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
