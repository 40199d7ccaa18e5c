/* EPT01 memory protection for hypapps: 4 KiB guest-physical pages with
 * EPT_R/W/X rights (paging.h) on one CPU or on all, kept when the guest's
 * MTRRs rebuild EPT01 (SDM Vol. 3 29.3). */
#ifndef XMHF_MEMPROT_H
#define XMHF_MEMPROT_H

#include <xmhf/page_pool.h>
#include <xmhf/spinlock.h>
#include <xmhf/types.h>

/* The cpu argument meaning every CPU. */
#define MEMPROT_ALL_CPUS 0xffffffffu

/* Set the rights of the page holding gpa. One CPU: that CPU's EPT01, the
 * caller flushes (memprot_flush on that CPU). MEMPROT_ALL_CPUS: every CPU
 * or none, and no CPU can use the old rights when it returns. False, with
 * nothing changed, for rights EPT cannot express (W without R, X alone
 * without the capability), the hypervisor's memory, above --mem, or when
 * the per-CPU store (EPT_OVERRIDES_MAX pages in EPT_OVERRIDE_TABLES 2 MiB
 * regions) or the page pool is full. */
bool memprot_set(u32 cpu, l1_gpa_t gpa, u64 rwx);
/* Take a hypapp lock that is held across memprot_set(MEMPROT_ALL_CPUS, ...):
 * while it waits it serves other CPUs' requests, so the holder's wait for
 * this CPU's INVEPT cannot deadlock. Release with spin_unlock. */
void memprot_lock(struct spinlock *l);
/* The rights cpu's EPT01 gives the page (0: not present). */
u64 memprot_get(u32 cpu, l1_gpa_t gpa);
/* The 4 KiB EPT leaf cpu's EPT01 gives the page holding gpa, as if it were
 * mapped alone: its host address (not always gpa's page: an all-ones page
 * shown for a hidden device), EPT_RWX rights, memory type and IPAT; 0 if
 * not present. */
u64 memprot_page(u32 cpu, l1_gpa_t gpa);

/* What changed, for memprot_flush (or'ed; 0 flushes nothing). */
#define MEMPROT_FLUSH_EPTP BIT(0)    /* only the EPTP: a VMWRITE needs no INVEPT */
#define MEMPROT_FLUSH_ENTRIES BIT(1) /* entries' rights or addresses */
#define MEMPROT_FLUSH_MT BIT(2)      /* only memory types */
/* Flush this CPU's cached translations of its EPT01 (SDM Vol. 3 29.4.3.1:
 * INVEPT single-context for entries or memory types). */
void memprot_flush(u32 flags);

/* A hypapp's own EPT (e.g. a PAL's, with only its sections), in page-table
 * pages the hypapp owns; switched on one CPU, which stops no other. */
struct ept_ctx {
	struct page_pool pool; /* the root is its first page */
};
/* An empty EPT in pages[0..n) (hypervisor memory); false if n = 0. */
bool ept_ctx_create(struct ept_ctx *c, u64 (*pages)[PT_ENTRIES], u32 n);
/* Identity-map the 4 KiB page holding gpa with rights rwx and the memory
 * type this CPU's EPT01 gives it; false (nothing mapped) for what
 * memprot_set refuses, a page EPT01 does not map, or a full pool. */
bool ept_ctx_map(struct ept_ctx *c, l1_gpa_t gpa, u64 rwx);
/* Map one of the hypapp's own pages (hypervisor memory, e.g. page tables it builds for the
 * guest) read-only, write-back, at its physical address; false if the pool is full or 'page'
 * is not page aligned. The guest can read it through c only. */
bool ept_ctx_map_own(struct ept_ctx *c, const void *page);
/* This CPU runs the guest on c from its next VM entry (NULL: on its EPT01
 * again), with the old EPTP's translations flushed (SDM Vol. 3 29.4.3.1). */
void ept_ctx_switch(const struct ept_ctx *c);
/* The pages are zeroed; c must not be in use on any CPU. */
void ept_ctx_destroy(struct ept_ctx *c);

#endif
