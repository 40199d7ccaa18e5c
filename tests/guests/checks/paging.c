/* PAE paging switched on and off from the guest (XMHF64 bugs 028/040). SDM Vol.3A 4.4 (PAE
 * paging, Tables 4-8..4-11), 4.4.1 (PDPTE registers); Vol.3C 28.3.1 / 27.3.1.6 (with EPT the
 * PDPTEs live in the VMCS; a hypervisor emulating MOV to CR0 must load them itself). */
#include "kernel.h"

#define CR0_NE BIT(5)
#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define P BIT(0)
#define RW BIT(1)
#define PS BIT(7)
#define PROBE 0x40000000u                   /* VA: PDPTE1 -> PD1 entry 0 -> PT entry 0 */
#define MARK_A 0xa0a0a0a0u
#define MARK_B 0xb0b0b0b0u
#define ROUNDS 100

#define PAGE __attribute__((aligned(4096)))
static uint64_t pdpt_a[4] __attribute__((aligned(32))), pdpt_b[4] __attribute__((aligned(32)));
static uint64_t pd0[512] PAGE, pd1_a[512] PAGE, pd1_b[512] PAGE, pt_a[512] PAGE, pt_b[512] PAGE;
static uint32_t page_a[1024] PAGE, page_b[1024] PAGE;

static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }

/* Two PDPTs: both identity-map [0, 1 GiB) with 2 MiB pages (PD0, covering the kernel); the 4 KiB
 * page at PROBE is page_a through pdpt_a and page_b through pdpt_b. */
static void build_tables(void)
{
    for (uint32_t i = 0; i < 512; i++)
        pd0[i] = (uint64_t)i << 21 | PS | RW | P;
    pt_a[0] = (uint32_t)page_a | RW | P;
    pt_b[0] = (uint32_t)page_b | RW | P;
    pd1_a[0] = (uint32_t)pt_a | RW | P;
    pd1_b[0] = (uint32_t)pt_b | RW | P;
    pdpt_a[0] = pdpt_b[0] = (uint32_t)pd0 | P;      /* PDPTE: only P, PWT, PCD (Table 4-8) */
    pdpt_a[1] = (uint32_t)pd1_a | P;
    pdpt_b[1] = (uint32_t)pd1_b | P;
    page_a[0] = MARK_A;
    page_b[0] = MARK_B;
}

struct pae_round { int n; uint32_t cr0, cr4; const char *err; uint32_t got; };

static bool probe(struct pae_round *r, uint32_t want, const char *what)
{
    uint32_t v = peek32(PROBE);
    if (v != want && !r->err)
        r->err = what, r->got = v;
    return v == want;
}

/* One round, paging off on entry and exit. Round n%10==0 sets PG and flips NE in one MOV (CR0.NE
 * is hypervisor-owned: an exit, emulated with PDPTEs from pdpt_a while the VMCS still holds
 * pdpt_b's from the previous round) and restores NE later with CR3 = pdpt_b; round n%10==5
 * clears PG and flips NE together. The other rounds toggle only PG (no exit: the CPU loads them). */
static void pae_round(void *arg)
{
    struct pae_round *r = arg;
    bool ne_on = r->n % 10 == 0, ne_off = r->n % 10 == 5;
    write_cr4(r->cr4 | CR4_PAE);
    write_cr3((uint32_t)pdpt_a);
    write_cr0((r->cr0 | CR0_PG) ^ (ne_on ? CR0_NE : 0));
    if (!probe(r, MARK_A, "via pdpt_a after enabling paging"))
        return;
    write_cr3((uint32_t)pdpt_b);                    /* MOV to CR3 loads the PDPTEs (4.4.1) */
    if (!probe(r, MARK_B, "via pdpt_b after MOV CR3"))
        return;
    if (ne_on) {
        write_cr0(r->cr0 | CR0_PG);
        if (!probe(r, MARK_B, "via pdpt_b after restoring CR0.NE with paging on"))
            return;
    }
    write_cr0(r->cr0 ^ (ne_off ? CR0_NE : 0));
    write_cr0(r->cr0);
    write_cr4(r->cr4);
}

void check_pae_paging_toggle(void)
{
    if (!(cpuid(1, 0).edx & BIT(6))) {
        note("skip: no PAE");
        return;
    }
    build_tables();
    struct pae_round r = { 0, read_cr0() & ~CR0_PG, read_cr4() & ~CR4_PAE, NULL, 0 };
    uint32_t cr3 = read_cr3();
    for (; r.n < ROUNDS && !r.err; r.n++) {
        int v = try_call(pae_round, &r);
        if (v >= 0 || r.err) {
            write_cr0(r.cr0);                       /* identity-mapped: safe to switch off here */
            write_cr4(r.cr4);
            if (v >= 0)
                fail("round %d: vector %d at %x (error %x)", r.n, v, fault_eip, fault_error);
            else
                fail("round %d: read %x at %x %s", r.n, r.got, PROBE, r.err);
            break;
        }
    }
    write_cr3(cr3);
    if (read_cr0() != r.cr0 || read_cr4() != r.cr4)
        fail("CR0=%x CR4=%x after the rounds, want %x %x", read_cr0(), read_cr4(), r.cr0, r.cr4);
}

/* RAM above 4 GiB (XMHF64 bug 020: page tables and EPT covering only 4 GiB;
 * bug 022: GPAs cut to 32 bits). PAE maps up to MAXPHYADDR (4.4.2), so a
 * 2 MiB page at HIGH_PHYS is reachable from 32-bit code: what is written
 * there must read back, and must not show up at the same address mod 4 GiB. */
#define HIGH_PHYS 0x104000000ull                /* 4 GiB + 64 MiB */
#define HIGH_VA 0x40200000u                     /* PDPTE1 -> PD1 entry 1 (2 MiB page) */
#define LOW_ALIAS ((uint32_t)HIGH_PHYS)          /* 64 MiB: free RAM below 4 GiB */
#define MARK_HIGH 0x4869674du
#define MARK_LOW 0x4c6f774du

struct high_probe { uint32_t cr0, cr4, got; };

static void high_round(void *arg)
{
    struct high_probe *h = arg;
    write_cr4(h->cr4 | CR4_PAE);
    write_cr3((uint32_t)pdpt_a);
    write_cr0(h->cr0 | CR0_PG);
    poke32(HIGH_VA, MARK_HIGH);
    write_cr0(h->cr0);                          /* paging off: write the low alias */
    poke32(LOW_ALIAS, MARK_LOW);
    write_cr0(h->cr0 | CR0_PG);
    h->got = peek32(HIGH_VA);
    write_cr0(h->cr0);
    write_cr4(h->cr4);
}

void check_high_memory(void)
{
    bool ram = false;
    for (int i = 0; i < g_mmap_n; i++)
        ram |= g_mmap[i].type == 1 && g_mmap[i].base <= HIGH_PHYS && HIGH_PHYS + 0x200000 <= g_mmap[i].base + g_mmap[i].len;
    if (!ram || !(cpuid(1, 0).edx & BIT(6))) {
        note("skip: no RAM at 0x%llx", HIGH_PHYS);
        return;
    }
    build_tables();
    pd1_a[1] = HIGH_PHYS | PS | RW | P;
    struct high_probe h = { read_cr0() & ~CR0_PG, read_cr4() & ~CR4_PAE, 0 };
    uint32_t cr3 = read_cr3();
    int v = try_call(high_round, &h);
    write_cr0(h.cr0);
    write_cr4(h.cr4);
    write_cr3(cr3);
    if (v >= 0)
        fail("vector %d at %x (error %x) touching 0x%llx", v, fault_eip, fault_error, HIGH_PHYS);
    else if (h.got != MARK_HIGH)
        fail("read %x at 0x%llx, want %x (low alias holds %x)", h.got, HIGH_PHYS, MARK_HIGH, peek32(LOW_ALIAS));
}
