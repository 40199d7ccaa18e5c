/* EPT01: per CPU, the identity map of guest-physical [0, CONFIG_MEM) with
 * the guest's MTRR memory types, the largest pages that are uniform, the
 * hypervisor's range and hidden devices not present, hidden PCI functions'
 * ECAM pages read-only to a page of all ones, and the local APIC page
 * read-only (so that ICR writes are seen, see apic_trap.c). */
#ifndef RUNTIME_EPT01_H
#define RUNTIME_EPT01_H

#include <xmhf/mtrr.h>
#include <xmhf/paging.h>
#include <xmhf/types.h>

/* Read this CPU's MTRRs as the firmware left them into its guest view. */
void ept01_init_mtrr(u32 cpu);
/* Build this CPU's EPT01; returns the EPTP. */
u64 ept01_build(u32 cpu);
/* Rebuild this CPU's EPT01 after a guest MTRR change and INVEPT it; the
 * 4 KiB permissions set with ept01_set_prot are kept. Never fails: MTRR
 * types that would need more pages than the pool has are merged over
 * larger pages (the strictest type of the region, see ept01.c). */
void ept01_rebuild(u32 cpu);
/* On cpu itself: INVEPT of its EPT01 and nested_ept01_changed with the
 * pages whose rights changed since its last flush (all after a rebuild). */
void ept01_flush(u32 cpu);
/* Pages of EPT tables this CPU's EPT01 uses. */
u32 ept01_pages(u32 cpu);

/* This CPU's EPTP (WB, 4-level walk). */
u64 ept01_eptp(u32 cpu);
/* The EPT lock (xcall.h takes it; lock order in docs/architecture.md). */
struct spinlock *ept01_lock(void);

/* 4 KiB pages with rights other than EPT_RWX or relocated, per CPU, and the 2 MiB
 * regions that may hold them (each costs a page table). */
#define EPT_OVERRIDES_MAX 256
#define EPT_OVERRIDE_TABLES 32
/* 4 KiB permissions (EPT_R/W/X bits) for hypapps, edited in place and kept
 * by every rebuild; EPT_RWX drops the page's entry. False (nothing changed)
 * for invalid rights, the hypervisor's range, above --mem, a full override
 * store, or a split the pool cannot take. ept01_set_prot: the caller
 * INVEPTs; ept01_set_prot_all: on every CPU or none, and every CPU has done
 * its INVEPT when it returns. */
bool ept01_set_prot(u32 cpu, l1_gpa_t gpa, u64 rwx);
bool ept01_set_prot_all(l1_gpa_t gpa, u64 rwx);
u64 ept01_get_prot(u32 cpu, l1_gpa_t gpa);
/* Test builds (xcall_test.c): map gpa's page to the host page 'host' on
 * every CPU (the page itself: back home), its contents copied there first,
 * rights kept, with the shootdown of ept01_set_prot_all. False (nothing
 * changed) for what ept01_set_prot refuses, an unaligned host page, or the
 * page already there. Nothing may write the page during the move. */
bool ept01_relocate_all(l1_gpa_t gpa, hpa_t host);
/* memprot_page (xmhf/memprot.h). */
u64 ept01_page_leaf(u32 cpu, l1_gpa_t gpa);
/* Whether rwx can be set for gpa's page (the first of ept01_set_prot's
 * checks: valid rights, not the hypervisor's, below --mem). */
bool ept01_prot_valid(u32 cpu, l1_gpa_t gpa, u64 rwx);
/* The memory type cpu's EPT01 maps gpa with, or EPT01_NOT_MAPPED. */
#define EPT01_NOT_MAPPED (~0ull)
u64 ept01_mem_type(u32 cpu, l1_gpa_t gpa);

/* The guest moved this CPU's APIC to 'page': trap that page instead. */
void ept01_move_apic(u32 cpu, l1_gpa_t page);
/* This CPU's 4 KiB EPT01 entry of the local APIC page, NULL if the APIC
 * is where the guest has no memory (then ept_apic_page is EPT01_NO_APIC_PAGE). */
#define EPT01_NO_APIC_PAGE (~0ull)
u64 *ept01_apic_entry(u32 cpu);

/* Hide a device's MMIO range (page-aligned) from the guest: not present in
 * every EPT01 built after the call (so before any CPU builds its own), and
 * refused by ept01_set_prot. False if the list is full or r is not
 * page-aligned. */
#define EPT01_MAX_HIDDEN_DEVICES 4
bool ept01_hide_device(struct pt_range r);

/* Show the guest all ones at a 4 KiB page, read-only: the ECAM page of a
 * PCI function the hypervisor keeps (PCI Express Base 6.0 7.2.2; all ones
 * is what a read of an absent function returns), mapped to one hypervisor
 * page of 0xff in every EPT01 built after the call (so before any CPU
 * builds its own). A guest write there is an EPT violation (#GP(0), as for
 * the hypervisor's memory); ept01_set_prot refuses the page. False if the
 * list is full, page is not aligned, not below --mem, the hypervisor's, a
 * hidden device's, listed already or the local APIC's. */
#define EPT01_MAX_ONES_PAGES 2
bool ept01_show_ones(l1_gpa_t page);
/* Whether gpa is in a page ept01_show_ones listed. */
bool ept01_is_ones_page(l1_gpa_t gpa);

/* Whether [gpa, gpa+size) touches the hypervisor's range. */
bool gpa_is_hypervisor(l1_gpa_t gpa, u64 size);

/* The hypervisor's pointer to guest-physical gpa: EPT01 and the host page
 * tables are both identity maps. */
#ifdef XMHF_HOST_TEST
void *l1_gpa_to_ptr(l1_gpa_t gpa); /* fake guest memory, tests/unit */
#else
static inline void *l1_gpa_to_ptr(l1_gpa_t gpa) { return (void *)gpa.v; }
#endif

#endif
