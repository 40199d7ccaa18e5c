/* See pci.h. */
#include "pci.h"
#include <xmhf/cpu.h>

static void select_register(u16 bdf, u8 offset)
{
	outl(PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_ENABLE | (u32)bdf << 8 | (offset & 0xfc));
}

u32 pci_read32(u16 bdf, u8 offset)
{
	select_register(bdf, offset);
	return inl(PCI_CONFIG_DATA_PORT);
}

void pci_write32(u16 bdf, u8 offset, u32 value)
{
	select_register(bdf, offset);
	outl(PCI_CONFIG_DATA_PORT, value);
}

u32 pci_find(u16 vendor, u16 device)
{
	u32 want = (u32)device << 16 | vendor;

	for (u32 bus = 0; bus < 256; bus++) {
		for (u32 dev = 0; dev < 32; dev++) {
			u32 id = pci_read32(PCI_BDF(bus, dev, 0), PCI_VENDOR_DEVICE);
			if ((id & 0xffff) == PCI_NO_DEVICE)
				continue;
			bool multi = pci_read32(PCI_BDF(bus, dev, 0), PCI_HEADER_TYPE) & PCI_HEADER_MULTI_FUNCTION;
			for (u32 fn = 0; fn < (multi ? 8u : 1u); fn++)
				if (pci_read32(PCI_BDF(bus, dev, fn), PCI_VENDOR_DEVICE) == want)
					return PCI_BDF(bus, dev, fn);
		}
	}
	return PCI_NO_DEVICE;
}

static u32 size_bar(u16 bdf, u8 offset, u32 *old)
{
	*old = pci_read32(bdf, offset);
	pci_write32(bdf, offset, 0xffffffffu);
	u32 mask = pci_read32(bdf, offset);
	pci_write32(bdf, offset, *old);
	return mask;
}

void pci_read_bars(u16 bdf, struct pci_bar bars[PCI_BARS])
{
	u32 command = pci_read32(bdf, PCI_COMMAND);

	pci_write32(bdf, PCI_COMMAND, command & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (u32 i = 0; i < PCI_BARS; i++) {
		u8 offset = (u8)(PCI_BAR0 + 4 * i);
		u32 lo, mask = size_bar(bdf, offset, &lo);

		bars[i] = (struct pci_bar){ .io = lo & PCI_BAR_IO };
		if (bars[i].io) {
			bars[i].base = lo & PCI_BAR_IO_MASK;
			bars[i].size = (u32)-(mask & PCI_BAR_IO_MASK) & 0xffff;
			continue;
		}
		u64 size_mask = 0xffffffff00000000ull | (mask & PCI_BAR_MEM_MASK);
		bars[i].base = lo & PCI_BAR_MEM_MASK;
		if ((lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && i + 1 < PCI_BARS) {
			u32 hi, mask_hi = size_bar(bdf, (u8)(offset + 4), &hi);
			bars[i].base |= (u64)hi << 32;
			size_mask = (u64)mask_hi << 32 | (mask & PCI_BAR_MEM_MASK);
			bars[++i] = (struct pci_bar){ 0 };
			bars[i - 1].size = (mask & PCI_BAR_MEM_MASK) ? -size_mask : 0;
			continue;
		}
		bars[i].size = (mask & PCI_BAR_MEM_MASK) ? -size_mask : 0;
	}
	pci_write32(bdf, PCI_COMMAND, command);
}
