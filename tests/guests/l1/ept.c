/* EPT paging structures for L2 (SDM Vol.3C 28.3.2): an identity map of [0, 4 GiB) with 2 MiB
 * pages, write-back; tests change entries and split one 2 MiB page into g_ept_pt. */
#include "l1.h"

#define PAGE __attribute__((aligned(4096)))
uint64_t g_ept_pml4[512] PAGE, g_ept_pdpt[512] PAGE, g_ept_pd[4][512] PAGE, g_ept_pt[512] PAGE;

uint64_t ept_identity(void)
{
    memset(g_ept_pml4, 0, sizeof g_ept_pml4);
    memset(g_ept_pdpt, 0, sizeof g_ept_pdpt);
    g_ept_pml4[0] = (uint32_t)g_ept_pdpt | EPT_RWX;          /* non-leaf: no memory type */
    for (uint32_t i = 0; i < 4; i++) {
        g_ept_pdpt[i] = (uint32_t)g_ept_pd[i] | EPT_RWX;
        for (uint32_t j = 0; j < 512; j++)
            g_ept_pd[i][j] = ((uint64_t)i << 30 | j << 21) | EPT_LEAF | EPT_MT_WB | EPT_RWX;
    }
    return (uint32_t)g_ept_pml4 | EPTP_WB | EPTP_WALK4;
}

void ept_split_4k(uint32_t gpa)
{
    uint32_t base = gpa & ~0x1FFFFFu;
    for (uint32_t k = 0; k < 512; k++)
        g_ept_pt[k] = (base + k * 4096) | EPT_MT_WB | EPT_RWX;
    g_ept_pd[gpa >> 30][(gpa >> 21) & 511] = (uint32_t)g_ept_pt | EPT_RWX;
}
