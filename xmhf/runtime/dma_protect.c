/* DMA protection with VT-d (xmhf/dmar.h): every remapping unit blocks DMA to
 * [__runtime_base, __reserved_end) with its protected low-memory region. The
 * guest must not turn that off: the units' register pages are not present
 * in EPT01 and the DMAR table is renamed, so that its OS does not look for
 * an IOMMU. Without a DMAR table there is no protection (docs/security.md). */
#include <config.h>
#include <runtime/dma_protect.h>
#include <runtime/ept01.h>
#include <runtime/panic.h>
#include <xmhf/dmar.h>
#include <xmhf/log.h>

extern const u8 __runtime_base[], __reserved_end[];

static struct dmar_info dmar;
static u8 *dmar_table;                         /* NULL: no usable DMAR table */
static const char *no_dmar = "no DMAR table";  /* why not */

void dma_protect_probe(u64 rsdp, acpi_map_fn map)
{
	u64 pa = acpi_find_table(rsdp, "DMAR", map);
	const struct acpi_sdt_header *h = pa ? map(pa, sizeof(*h)) : NULL;

	if (!h)
		return;
	const u8 *table = map(pa, h->length);
	const char *err = table ? dmar_parse(table, h->length, &dmar) : "unreachable DMAR table";
	if (err) {
		no_dmar = err;
		return;
	}
	dmar_table = (u8 *)table; /* map() is the identity: writable */
}

u32 dma_protect_mmio(struct pt_range *out, u32 max)
{
	u32 n = 0;

	for (u32 i = 0; dmar_table && i < dmar.n_units && n < max; i++)
		out[n++] = (struct pt_range){ dmar.units[i].regs.v, dmar.units[i].regs_size };
	return n;
}

static void warn_rmrr_overlap(const struct dmar_range *prot)
{
	for (u32 i = 0; i < dmar.n_rmrrs; i++)
		if (dmar.rmrrs[i].base < prot->end && prot->base < dmar.rmrrs[i].end)
			pr_warn("xmhf: the DMA-protected [0x%llx, 0x%llx) overlaps the RMRR [0x%llx, 0x%llx): "
				"the devices using it may fail", prot->base, prot->end, dmar.rmrrs[i].base,
				dmar.rmrrs[i].end);
}

/* Devices outside every unit's scope are not remapped (VT-d spec 8.3): a
 * segment is covered only if one of its units has INCLUDE_PCI_ALL. */
static void warn_uncovered_segments(void)
{
	for (u32 i = 0; i < dmar.n_units; i++) {
		bool covered = false, first = true;

		for (u32 j = 0; j < dmar.n_units; j++) {
			bool same = dmar.units[j].segment == dmar.units[i].segment;
			covered |= same && dmar.units[j].include_pci_all;
			first &= !(same && j < i);
		}
		if (first && !covered)
			pr_warn("xmhf: PCI segment %u has no INCLUDE_PCI_ALL unit: devices outside the DMAR "
				"scopes are not DMA-protected", dmar.units[i].segment);
	}
}

static void protect_unit(struct dmar_unit *u, struct e820_map *guest_map)
{
	u64 lo = (u64)__runtime_base, hi = (u64)__reserved_end;
	struct dmar_range prot;
	const char *err;

	if (u->regs.v + u->regs_size > CONFIG_MEM)
		err = "registers above --mem";
	else {
		u->regs_size = dmar_regs_size(u);
		err = dmar_protect(u, lo, hi, &prot);
	}
	if (err) {
		pr_err("xmhf: VT-d unit at 0x%llx: %s: DMA protection unavailable for its devices "
		       "(see docs/security.md)", u->regs.v, err);
		return;
	}
	pr_info("xmhf: VT-d unit at 0x%llx blocks DMA to [0x%llx, 0x%llx)", u->regs.v, prot.base, prot.end);
	warn_rmrr_overlap(&prot);
	if ((prot.base < lo && !e820_reserve(guest_map, prot.base, lo - prot.base)) ||
	    (prot.end > hi && !e820_reserve(guest_map, hi, prot.end - hi)))
		panic("xmhf: the E820 map has no room to reserve the DMA-protected range");
}

void dma_protect_enable(struct e820_map *guest_map)
{
	if (!dmar_table) {
		pr_warn("xmhf: %s: DMA protection unavailable (see docs/security.md)", no_dmar);
		return;
	}
	for (u32 i = 0; i < dmar.n_units; i++)
		protect_unit(&dmar.units[i], guest_map);
	warn_uncovered_segments();
	dmar_hide(dmar_table);
	if (*(volatile u8 *)dmar_table != 'X')
		pr_warn("xmhf: the DMAR table is read-only: the guest's OS will find the units it "
			"cannot use");
}

void dma_protect_hide_units(u32 cpu)
{
	for (u32 i = 0; dmar_table && i < dmar.n_units; i++) {
		const struct dmar_unit *u = &dmar.units[i];

		for (u64 page = u->regs.v; page - u->regs.v < u->regs_size && page < CONFIG_MEM; page += PAGE_SIZE)
			if (!ept01_set_prot(cpu, l1_gpa(page), 0))
				panic("xmhf: cpu %u: cannot hide the VT-d registers at 0x%llx from the guest", cpu, page);
	}
}
