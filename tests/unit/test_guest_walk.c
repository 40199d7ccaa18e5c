/* xmhf/runtime/guest_walk.c: guest linear-address translation (SDM Vol. 3
 * 4.3 32-bit paging, 4.4 PAE, 4.5 4-level, 4.6 access rights, 4.7 #PF
 * error code, 4.8 A/D flags) on fake guest memory, with the hypervisor's
 * range [FAKE_HV_BASE, FAKE_HV_END) refused. */
#include "fake_cpu.h"
#include <runtime/guest_ram.h>
#include <runtime/guest_walk.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>

#define CR0_WP BIT(16)
#define CR4_PSE BIT(4)
#define CR4_SMAP BIT(21)
#define CR4_LA57 BIT(12)
#define EFER_NXE BIT(11)
#define P PTE_P
#define RW PTE_RW
#define US PTE_US

static struct guest_paging pg;
static struct gw_fault f;

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	memset(&pg, 0, sizeof(pg));
	pg.cr0 = CR0_PE | CR0_PG;
	pg.phys_addr_mask = (1ull << 36) - 1;
	memset(&f, 0, sizeof(f));
	return 0;
}

static u32 *m32(u64 gpa) { return (u32 *)guest_mem(gpa, 4); }
static u64 *m64(u64 gpa) { return (u64 *)guest_mem(gpa, 8); }

static u64 xlate(u64 la, u32 access, enum gw_result want)
{
	l1_gpa_t gpa = { ~0ull };
	assert_int_equal(guest_translate(&pg, gva(la), access, &gpa, &f), want);
	return gpa.v;
}

static void expect_pf(u64 la, u32 access, u32 code)
{
	xlate(la, access, GW_PAGE_FAULT);
	assert_int_equal(f.error_code, code);
	assert_int_equal(f.addr, la);
}

static void test_paging_off(void **state)
{
	(void)state;
	pg.cr0 = CR0_PE;
	assert_int_equal(xlate(0x12345678, GW_WRITE, GW_OK), 0x12345678);
	assert_int_equal(xlate(0x100001234ull, 0, GW_OK), 0x1234); /* 32-bit linear addresses */
}

/* 32-bit paging: CR3 0x1000 -> PD; PDE 0 -> PT 0x2000; PTE 5 -> 0x7000. */
static void map32(void)
{
	*m32(0x1000) = 0x2000 | P | RW | US;
	*m32(0x2000 + 5 * 4) = 0x7000 | P | RW | US;
	pg.cr3 = 0x1000;
}

static void test_32bit_4k_and_ad(void **state)
{
	(void)state;
	map32();
	assert_int_equal(xlate(0x5123, 0, GW_OK), 0x7123);
	assert_int_equal(*m32(0x1000), 0x2000 | P | RW | US | PTE_A);
	assert_int_equal(*m32(0x2014), 0x7000 | P | RW | US | PTE_A); /* no D on a read */
	assert_int_equal(xlate(0x5ffc, GW_WRITE, GW_OK), 0x7ffc);
	assert_int_equal(*m32(0x2014), 0x7000 | P | RW | US | PTE_A | PTE_D);
	assert_int_equal(*m32(0x1000), 0x2000 | P | RW | US | PTE_A); /* D only in the leaf */
}

static void test_32bit_4m_pse(void **state)
{
	(void)state;
	map32();
	*m32(0x1000 + 4) = 0x00400000 | PTE_PS | P | RW; /* PDE 1: 4 MiB page at 4 MiB */
	pg.cr4 = CR4_PSE;
	assert_int_equal(xlate(0x401234, GW_WRITE, GW_OK), 0x401234);
	assert_int_equal(*m32(0x1004), 0x00400000 | PTE_PS | P | RW | PTE_A | PTE_D);
	/* PSE-36: bits 20:13 are physical-address bits 39:32 */
	*m32(0x1000 + 8) = 0x00800000 | (3u << 13) | PTE_PS | P;
	assert_int_equal(xlate(0x800010, 0, GW_OK), 0x300800010ull);
	/* beyond MAXPHYADDR (36) and bit 21 are reserved */
	*m32(0x1000 + 12) = 0x00c00000 | (0x10u << 13) | PTE_PS | P;
	expect_pf(0xc00000, 0, PFEC_P | PFEC_RSVD);
	*m32(0x1000 + 16) = 0x01000000 | BIT(21) | PTE_PS | P;
	expect_pf(0x1000000, GW_WRITE, PFEC_P | PFEC_RSVD | PFEC_W);
	/* without CR4.PSE the PS bit is ignored: a page table at 0x400000... */
	pg.cr4 = 0;
	*m32(0x1000 + 20) = 0x3000 | PTE_PS | P | RW;
	*m32(0x3000) = 0x9000 | P;
	assert_int_equal(xlate(0x1400abc, 0, GW_OK), 0x9abc);
}

static void test_32bit_not_present(void **state)
{
	(void)state;
	map32();
	expect_pf(0x400000, 0, 0);                     /* PDE 1 not present */
	expect_pf(0x6000, GW_WRITE | GW_USER, PFEC_W | PFEC_U); /* PTE 6 not present */
	assert_int_equal(*m32(0x1000) & PTE_A, 0);     /* no A flag on a failed walk */
}

static void test_write_protect(void **state)
{
	(void)state;
	map32();
	*m32(0x2014) = 0x7000 | P | US; /* read-only */
	assert_int_equal(xlate(0x5000, GW_WRITE, GW_OK), 0x7000); /* WP = 0: supervisor writes */
	expect_pf(0x5000, GW_WRITE | GW_USER, PFEC_P | PFEC_W | PFEC_U);
	pg.cr0 |= CR0_WP;
	expect_pf(0x5000, GW_WRITE, PFEC_P | PFEC_W);
	assert_int_equal(xlate(0x5000, 0, GW_OK), 0x7000);
	/* user access to a supervisor page; implicit supervisor access and SMAP */
	*m32(0x1000) = 0x2000 | P | RW;
	expect_pf(0x5000, GW_USER, PFEC_P | PFEC_U);
	*m32(0x1000) = 0x2000 | P | RW | US;
	pg.cr4 = CR4_SMAP;
	expect_pf(0x5000, 0, PFEC_P);
}

/* PAE: PDPTE 0 -> PD 0x3000; PDE 0 -> PT 0x4000 (PTE 1 -> 0x9000); PDE 1: 2 MiB page at 0. */
static void map_pae(void)
{
	pg.cr4 = CR4_PAE;
	pg.pdpte[0] = 0x3000 | P;
	*m64(0x3000) = 0x4000 | P | RW | US;
	*m64(0x3008) = PTE_PS | P | RW;
	*m64(0x4008) = 0x9000 | P | RW | US;
}

static void test_pae(void **state)
{
	(void)state;
	map_pae();
	assert_int_equal(xlate(0x1abc, GW_WRITE | GW_USER, GW_OK), 0x9abc);
	assert_int_equal(*m64(0x3000), 0x4000 | P | RW | US | PTE_A);
	assert_int_equal(*m64(0x4008), 0x9000 | P | RW | US | PTE_A | PTE_D);
	assert_int_equal(xlate(0x200345, 0, GW_OK), 0x345);
	assert_int_equal(*m64(0x3008), PTE_PS | P | RW | PTE_A);
	expect_pf(0x40000000, 0, 0); /* PDPTE 1 not present */
	/* XD: reserved without EFER.NXE, a fetch fault with it */
	*m64(0x4008) |= PTE_NX;
	expect_pf(0x1000, 0, PFEC_P | PFEC_RSVD);
	pg.efer = EFER_NXE;
	assert_int_equal(xlate(0x1000, 0, GW_OK), 0x9000);
	expect_pf(0x1000, GW_FETCH, PFEC_P | PFEC_I);
	/* 2 MiB page: bits 20:13 reserved; bits 62:52 reserved in PAE entries */
	*m64(0x3010) = 0x400000 | BIT(13) | PTE_PS | P;
	expect_pf(0x400000, 0, PFEC_P | PFEC_RSVD);
	*m64(0x3018) = 0x600000 | BIT(52) | PTE_PS | P;
	expect_pf(0x600000, 0, PFEC_P | PFEC_RSVD);
}

/* 4-level: CR3 0x10000 -> PDPT 0x11000 -> PD 0x12000 -> PT 0x13000 (PTE 2 -> 0xa000). */
static void map_4level(void)
{
	pg.cr4 = CR4_PAE;
	pg.efer = EFER_LME | EFER_LMA;
	pg.cr3 = 0x10000;
	*m64(0x10000) = 0x11000 | P | RW;
	*m64(0x11000) = 0x12000 | P | RW;
	*m64(0x11008) = PTE_PS | P | RW;        /* 1 GiB page at 0 */
	*m64(0x12000) = 0x13000 | P | RW;
	*m64(0x12008) = 0x200000 | PTE_PS | P;  /* 2 MiB page */
	*m64(0x13010) = 0xa000 | P | RW;
}

static void test_4level(void **state)
{
	(void)state;
	map_4level();
	assert_int_equal(xlate(0x2010, GW_WRITE, GW_OK), 0xa010);
	assert_int_equal(*m64(0x10000), 0x11000 | P | RW | PTE_A);
	assert_int_equal(*m64(0x11000), 0x12000 | P | RW | PTE_A);
	assert_int_equal(*m64(0x12000), 0x13000 | P | RW | PTE_A);
	assert_int_equal(*m64(0x13010), 0xa000 | P | RW | PTE_A | PTE_D);
	assert_int_equal(xlate(0x40000010, 0, GW_OK), 0x10);
	assert_int_equal(xlate(0x200020, 0, GW_OK), 0x200020);
	pg.cr0 |= CR0_WP;
	expect_pf(0x200020, GW_WRITE, PFEC_P | PFEC_W);
	expect_pf(0x8000000000ull, 0, 0);                      /* PML4E 1 not present */
	xlate(0x0000800000000000ull, 0, GW_GP);                /* non-canonical */
	assert_int_equal(xlate(0xffff800000000000ull, 0, GW_PAGE_FAULT), ~0ull);
	*m64(0x10000) |= PTE_PS;                               /* PS is reserved in a PML4E */
	expect_pf(0x2010, 0, PFEC_P | PFEC_RSVD);
	*m64(0x10000) = 0x11000 | (1ull << 40) | P | RW;       /* beyond MAXPHYADDR */
	expect_pf(0x2010, 0, PFEC_P | PFEC_RSVD);
	pg.cr4 |= CR4_LA57;
	xlate(0x2010, 0, GW_UNSUPPORTED);
}

/* Two linear pages 0x1000, 0x2000 on guest-physical 0x9000 and 0x7000. */
static void map_two_pages(void)
{
	*m32(0x1000) = 0x2000 | P | RW;
	*m32(0x2004) = 0x9000 | P | RW;
	*m32(0x2008) = 0x7000 | P | RW;
	pg.cr3 = 0x1000;
}

static void test_cross_page(void **state)
{
	(void)state;
	map_two_pages();
	u8 data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8] = { 0 };
	assert_int_equal(guest_linear_write(&pg, gva(0x1ffc), data, 8, 0, &f), GW_OK);
	assert_memory_equal(guest_mem(0x9ffc, 4), data, 4);
	assert_memory_equal(guest_mem(0x7000, 4), data + 4, 4);
	assert_true(*m32(0x2004) & PTE_D);
	assert_true(*m32(0x2008) & PTE_D);
	assert_int_equal(guest_linear_read(&pg, gva(0x1ffc), back, 8, 0, &f), GW_OK);
	assert_memory_equal(back, data, 8);
	/* the second page not present: nothing written, CR2 on the second page */
	*m32(0x2008) = 0;
	memset(guest_mem(0x9ff8, 8), 0, 8);
	assert_int_equal(guest_linear_write(&pg, gva(0x1ffc), data, 8, 0, &f), GW_PAGE_FAULT);
	assert_int_equal(f.addr, 0x2000);
	assert_int_equal(f.error_code, PFEC_W);
	assert_int_equal(*m32(0x9ffc), 0);
}

static void test_hypervisor_range_refused(void **state)
{
	(void)state;
	map_two_pages();
	u8 buf[8] = { 0 };
	*m32(0x2008) = FAKE_HV_BASE | P | RW; /* a page of the hypervisor */
	assert_int_equal(guest_linear_read(&pg, gva(0x1ffc), buf, 8, 0, &f), GW_GP);
	assert_int_equal(guest_linear_write(&pg, gva(0x2000), buf, 1, 0, &f), GW_GP);
	assert_int_equal(guest_linear_read(&pg, gva(0x1ff8), buf, 8, 0, &f), GW_OK);
	pg.cr3 = FAKE_HV_END - PAGE_SIZE; /* a page directory in it */
	xlate(0x1000, 0, GW_GP);
	pg.cr0 = CR0_PE;                  /* paging off */
	assert_int_equal(guest_linear_read(&pg, gva(FAKE_HV_BASE - 4), buf, 8, 0, &f), GW_GP);
}

/* Only guest RAM is walked or copied: not memory above the E820 map's RAM
 * (above --mem the hypervisor's page tables map nothing: a #PF in VMX root
 * before), not a device page, not this CPU's moved APIC page. */
static void test_non_ram_refused(void **state)
{
	(void)state;
	static const struct e820_map m = { .e = { { 0, MiB(1), E820_RAM } }, .n = 1 };
	static const struct pt_range device = { 0x5000, PAGE_SIZE };
	guest_ram_init(&m, &device, 1);
	map_two_pages();
	u8 buf[8] = { 0 };
	*m32(0x2008) = MiB(1) | P | RW;         /* a data page beyond RAM */
	assert_int_equal(guest_linear_read(&pg, gva(0x2000), buf, 4, 0, &f), GW_GP);
	*m32(0x2008) = 0x5000 | P | RW;         /* the device page */
	assert_int_equal(guest_linear_write(&pg, gva(0x2000), buf, 4, 0, &f), GW_GP);
	*m32(0x1000) = 0x40000000 | P | RW;     /* a page table at 1 GiB: no RAM */
	xlate(0x1000, 0, GW_GP);
	*m32(0x1000) = 0x2000 | P | RW;
	*m32(0x2008) = 0x7000 | P | RW;
	assert_int_equal(xlate(0x2000, 0, GW_OK), 0x7000);
	this_cpu()->ept_apic_page = l1_gpa(0x1000);    /* the APIC moved onto the page directory */
	xlate(0x2000, 0, GW_GP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_paging_off, setup),
		cmocka_unit_test_setup(test_32bit_4k_and_ad, setup),
		cmocka_unit_test_setup(test_32bit_4m_pse, setup),
		cmocka_unit_test_setup(test_32bit_not_present, setup),
		cmocka_unit_test_setup(test_write_protect, setup),
		cmocka_unit_test_setup(test_pae, setup),
		cmocka_unit_test_setup(test_4level, setup),
		cmocka_unit_test_setup(test_cross_page, setup),
		cmocka_unit_test_setup(test_hypervisor_range_refused, setup),
		cmocka_unit_test_setup(test_non_ram_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
