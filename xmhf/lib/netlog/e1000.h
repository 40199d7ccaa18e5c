/* A polled Intel 82540EM driver for the network log: descriptor rings and
 * buffers in hypervisor memory (identity-mapped, so virtual = physical for
 * DMA), no interrupts, frames copied in and out. One user at a time (the
 * network log's lock). */
#ifndef NETLOG_E1000_H
#define NETLOG_E1000_H

#include "e1000_regs.h"

#define E1000_TX_DESCS 32 /* ring lengths: multiples of 8 (128 bytes, 13.4.28) */
#define E1000_RX_DESCS 32
#define E1000_BUF_SIZE 2048 /* RCTL.BSIZE 0 */
#define E1000_MAC_LEN 6

struct e1000 {
	struct e1000_tx_desc tx[E1000_TX_DESCS] __attribute__((aligned(128)));
	struct e1000_rx_desc rx[E1000_RX_DESCS] __attribute__((aligned(128)));
	u8 tx_buf[E1000_TX_DESCS][E1000_BUF_SIZE] __attribute__((aligned(16)));
	u8 rx_buf[E1000_RX_DESCS][E1000_BUF_SIZE] __attribute__((aligned(16)));
	volatile u32 *regs;
	u32 tx_next;  /* next descriptor to fill */
	u32 tx_clean; /* oldest descriptor not known to be done */
	u32 rx_next;  /* next descriptor the NIC fills */
	u8 mac[E1000_MAC_LEN];
};

/* Reset the NIC at mmio (its BAR0, mapped uncached), set up both rings
 * and read the MAC address the EEPROM loaded; false if the reset does not
 * complete or no MAC address is valid. */
bool e1000_init(struct e1000 *nic, u64 mmio);
/* Whether a transmit descriptor is free. */
bool e1000_tx_ready(struct e1000 *nic);
/* Whether the NIC has sent every queued frame. */
bool e1000_tx_idle(struct e1000 *nic);
/* Queue one frame (at most E1000_BUF_SIZE bytes); false if no descriptor is free. */
bool e1000_send(struct e1000 *nic, const void *frame, u32 len);
/* Copy the next received frame into buf (max bytes) and give its
 * descriptor back: its length, 0 if none (a longer frame is dropped). */
u32 e1000_receive(struct e1000 *nic, void *buf, u32 max);

#endif
