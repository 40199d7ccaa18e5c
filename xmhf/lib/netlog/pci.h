/* PCI configuration mechanism #1 (ports 0xCF8/0xCFC, PCI Local Bus 3.0
 * 3.2.2.3.2) for the hypervisor's own device, used only before the guest
 * runs (afterwards 0xCF8 is the guest's: exit_io.c). */
#ifndef NETLOG_PCI_H
#define NETLOG_PCI_H

#include <xmhf/types.h>

#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT 0xcfc
#define PCI_CONFIG_ENABLE BIT(31)

/* configuration header type 0 (PCI Local Bus 3.0 6.1) */
#define PCI_VENDOR_DEVICE 0x00
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO BIT(0)
#define PCI_COMMAND_MEMORY BIT(1)
#define PCI_COMMAND_BUS_MASTER BIT(2)
#define PCI_COMMAND_INTX_DISABLE BIT(10)
#define PCI_HEADER_TYPE 0x0c /* byte 2 of the dword */
#define PCI_HEADER_MULTI_FUNCTION BIT(23)
#define PCI_BAR0 0x10
#define PCI_BARS 6
#define PCI_BAR_IO BIT(0)
#define PCI_BAR_MEM_TYPE_64 (2u << 1)
#define PCI_BAR_MEM_TYPE_MASK (3u << 1)
#define PCI_BAR_IO_MASK 0xfffffffcu
#define PCI_BAR_MEM_MASK 0xfffffff0u
#define PCI_NO_DEVICE 0xffffu

#define PCI_BDF(bus, dev, fn) ((u16)((bus) << 8 | (dev) << 3 | (fn)))
#define PCI_BDF_BUS(bdf) ((bdf) >> 8)
#define PCI_BDF_DEV(bdf) (((bdf) >> 3) & 0x1f)
#define PCI_BDF_FN(bdf) ((bdf) & 7)

u32 pci_read32(u16 bdf, u8 offset);
void pci_write32(u16 bdf, u8 offset, u32 value);
/* The first function with vendor:device id, PCI_NO_DEVICE if none. */
u32 pci_find(u16 vendor, u16 device);

/* A BAR's decoded range (size 0: not implemented). */
struct pci_bar {
	bool io;
	u64 base;
	u64 size;
};
/* Read the BARs, sizing each with the all-ones write (6.2.5.1) while the
 * function decodes nothing; restores every register. */
void pci_read_bars(u16 bdf, struct pci_bar bars[PCI_BARS]);

#endif
