/* Intel 8254x (82540EM) registers and descriptors used by e1000.c: "PCI/PCI-X
 * Family of Gigabit Ethernet Controllers Software Developer's Manual"
 * (section numbers below), legacy descriptors. */
#ifndef NETLOG_E1000_REGS_H
#define NETLOG_E1000_REGS_H

#include <xmhf/types.h>

#define E1000_VENDOR_INTEL 0x8086
#define E1000_DEVICE_82540EM 0x100e

/* 13.4 register offsets in BAR0 */
#define E1000_CTRL 0x0000
#define E1000_CTRL_ASDE BIT(5)  /* auto-speed detection */
#define E1000_CTRL_SLU BIT(6)   /* set link up */
#define E1000_CTRL_RST BIT(26)
#define E1000_STATUS 0x0008
#define E1000_EERD 0x0014      /* 13.4.4 EEPROM read */
#define E1000_EERD_START BIT(0)
#define E1000_EERD_DONE BIT(4)
#define E1000_EERD_ADDR(word) ((u32)(word) << 8)
#define E1000_EERD_DATA(v) ((u16)((v) >> 16))
#define E1000_EEPROM_MAC_WORDS 3 /* words 0..2: the Ethernet address (5.6.1) */
#define E1000_ICR 0x00c0
#define E1000_IMC 0x00d8        /* interrupt mask clear */
#define E1000_RCTL 0x0100
#define E1000_RCTL_EN BIT(1)
#define E1000_RCTL_BAM BIT(15)  /* accept broadcast (ARP) */
#define E1000_RCTL_SECRC BIT(26) /* strip the CRC */
#define E1000_TCTL 0x0400
#define E1000_TCTL_EN BIT(1)
#define E1000_TCTL_PSP BIT(3)   /* pad short packets */
#define E1000_TCTL_CT(n) ((u32)(n) << 4)    /* collision threshold: 0x0f */
#define E1000_TCTL_COLD(n) ((u32)(n) << 12) /* collision distance: 0x40 full duplex */
#define E1000_TIPG 0x0410
#define E1000_TIPG_COPPER (10u | 8u << 10 | 6u << 20) /* 13.4.34: IPGT, IPGR1, IPGR2 */
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_MTA 0x5200        /* 128 multicast table entries */
#define E1000_MTA_ENTRIES 128
#define E1000_RAL0 0x5400
#define E1000_RAH0 0x5404
#define E1000_RAH_AV BIT(31)
#define E1000_MMIO_SIZE 0x20000

/* 3.3.3 legacy transmit descriptor */
struct e1000_tx_desc {
	u64 addr;
	u16 length;
	u8 cso;
	u8 cmd;
	u8 status;
	u8 css;
	u16 special;
} __attribute__((packed));
#define E1000_TXD_CMD_EOP BIT(0)
#define E1000_TXD_CMD_IFCS BIT(1) /* insert the FCS */
#define E1000_TXD_CMD_RS BIT(3)   /* report status (DD) */
#define E1000_TXD_STAT_DD BIT(0)

/* 3.2.3 receive descriptor */
struct e1000_rx_desc {
	u64 addr;
	u16 length;
	u16 checksum;
	u8 status;
	u8 errors;
	u16 special;
} __attribute__((packed));
#define E1000_RXD_STAT_DD BIT(0)
#define E1000_RXD_STAT_EOP BIT(1)

_Static_assert(sizeof(struct e1000_tx_desc) == 16 && sizeof(struct e1000_rx_desc) == 16, "3.2.3, 3.3.3");

#endif
