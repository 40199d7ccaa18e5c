/* stale=N (issue 10 point 4; docs/nested.md "Rewalk"): stale VMCS02 fields made observable, under
 * the hypervisor with its test hypercalls only. L2 on CPU 0 reads an I/O port (then an MSR) in a
 * loop; L1's bitmap bit for it is clear, so each read exits to L0 only. At a random moment CPU 1
 * moves the bitmap's page to another host page (XCALL_TEST_RELOCATE: EPT01 changes on every CPU
 * with a shootdown, while L2 runs on CPU 0), sets the bit in the moved page and arms the round.
 * The first read L2 makes after it saw the round armed must exit to L1; if it does not, the bitmap
 * is still taken from the old page (a stale field) and L2 says so with VMCALL(STALE_MAGIC). N
 * rounds each. */
#include "l1.h"

#define STALE_PORT 0x81
#define STALE_MSR 0x174                      /* SYSENTER_CS: L0 lets L2 read it */
#define STALE_MAGIC 0x5354414cu              /* "STAL": a read after `armed` did not exit */
#define L2_WORK 500                          /* loops of L2 between two reads */
#define MAX_DELAY 100000                     /* pause loops before a move, at random: 0 to many L2 reads */

struct stale_kind { const char *name; uint32_t proc, bit, exit_reason; };
static const struct stale_kind kinds[] = {
    { "iobitmap", PROC_IO_BITMAPS, STALE_PORT, EXIT_IO },
    { "msrbitmap", PROC_MSR_BITMAPS, STALE_MSR, EXIT_RDMSR },   /* read-low bitmap: bit = MSR */
};

static uint8_t bitmap[2][4096] __attribute__((aligned(4096)));   /* I/O A and B, or the MSR bitmap */
static volatile uint32_t round_go, round_done, mover_stop, moves_refused;
static volatile uint32_t armed;              /* the round whose bit is set in the moved page, or 0 */
static const struct stale_kind *volatile kind;

static void set_bit(bool on)
{
    volatile uint8_t *b = &bitmap[0][kind->bit / 8];
    uint8_t m = (uint8_t)(1u << (kind->bit % 8));
    *b = on ? *b | m : *b & ~m;
}

static uint32_t random_below(uint32_t n)
{
    static uint32_t seed = 12345;
    return (lcg(&seed) >> 16) % n;
}

/* CPU 1, in the AP's flat 32-bit mode: per round a random wait, the move, a random wait, the bit,
 * `armed`. */
static void mover(void)
{
    for (uint32_t r = 1;; r++) {
        while (round_go != r && !mover_stop)
            __asm__ volatile("pause");
        if (mover_stop)
            return;
        for (uint32_t d = random_below(MAX_DELAY); d; d--)
            __asm__ volatile("pause");
        if (test_hypercall(XCALL_TEST_RELOCATE, (uint32_t)bitmap[0], 0) != 1)
            moves_refused++;
        /* L2 goes on reading (and L0 on CPU 0 on deciding its reads) with the moved page */
        for (uint32_t d = random_below(MAX_DELAY); d; d--)
            __asm__ volatile("pause");
        set_bit(true);
        armed = r;
        round_done = r;
    }
}

static void l2_reads(void *a)
{
    (void)a;
    for (;;) {
        /* mostly in L2 (not in L0's handling of a read) when the move's kick comes */
        for (volatile uint32_t i = 0; i < L2_WORK; i++)
            ;
        uint32_t round = armed;
        if (kind->exit_reason == EXIT_IO)
            (void)inb(STALE_PORT);
        else
            (void)rdmsr(STALE_MSR);
        /* still armed for that round: the read did not exit (after an exit L1 disarms first) */
        if (round && round == armed)
            __asm__ volatile("vmcall" : : "a"(STALE_MAGIC) : "memory");
    }
}

static bool read_exited(const struct l2_exit *e)
{
    if (e->reason != kind->exit_reason)
        return false;
    return kind->exit_reason == EXIT_IO ? e->qual >> 16 == STALE_PORT : g_l2.ecx == STALE_MSR;
}

static bool stale_rounds(const struct stale_kind *k, uint32_t n, uint32_t ap)
{
    uint32_t exits = 0, stale = 0, r;
    struct l2_config c = { .proc = k->proc, .exception_bitmap = 0xFFFFFFFFu };
    result_reset();
    kind = k;
    memset(bitmap, 0, sizeof bitmap);
    round_go = round_done = armed = mover_stop = moves_refused = 0;
    ap_start(ap, mover);
    if (!vmx_on())
        goto out;
    l2_vmcs_init(0, &c, l2_reads, NULL);
    vmcs_set64(k->exit_reason == EXIT_IO ? VMCS_IO_BITMAP_A : VMCS_MSR_BITMAP, (uint32_t)bitmap[0]);
    if (k->exit_reason == EXIT_IO)
        vmcs_set64(VMCS_IO_BITMAP_B, (uint32_t)bitmap[1]);
    for (r = 1; r <= n && !g_result.failed; r++) {
        struct l2_exit e;
        round_go = r;
        if (!l2_run(&e, NULL))
            break;
        if (e.reason == EXIT_VMCALL && g_l2.eax == STALE_MAGIC)
            stale++;
        else if (read_exited(&e))
            exits++;
        else if (!expect_exit("L2's read", &e, k->exit_reason))
            break;
        l2_skip(&e);
        while (round_done != r)
            __asm__ volatile("pause");
        set_bit(false);                      /* the page is not moving: the mover waits for us */
        armed = 0;
    }
    vmx_off();
out:
    mover_stop = 1;
    if (moves_refused)
        fail("%u moves refused", moves_refused);
    if (stale)
        fail("%u stale reads", stale);
    kprintf("L1-STALE: %s rounds=%u exits=%u stale=%u%s%s\n", k->name, n, exits, stale,
            g_result.failed ? " FAIL " : "", g_result.failed ? g_result.fail_msg : "");
    return !g_result.failed;
}

bool stale_fields_test(uint32_t n, uint32_t cpu1_apic_id)
{
    bool ok = true;
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        ok = stale_rounds(&kinds[k], n, cpu1_apic_id) && ok;
    return ok;
}
