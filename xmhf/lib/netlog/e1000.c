/* See e1000.h; initialization as in the 8254x manual 14.3-14.5. */
#include "e1000.h"
#include <xmhf/cpu.h>
#include <xmhf/power.h>
#include <xmhf/string.h>

#define RESET_POLLS 1000 /* of 10 us */
#define EEPROM_POLLS 1000 /* of 10 us */

static u32 rd(struct e1000 *nic, u32 reg) { return nic->regs[reg / 4]; }
static void wr(struct e1000 *nic, u32 reg, u32 v) { nic->regs[reg / 4] = v; }

static u64 dma_addr(const void *p) { return (u64)p; }

static bool reset(struct e1000 *nic)
{
	wr(nic, E1000_IMC, 0xffffffffu);
	wr(nic, E1000_CTRL, rd(nic, E1000_CTRL) | E1000_CTRL_RST);
	for (u32 i = 0; i < RESET_POLLS; i++) {
		udelay(10);
		if (!(rd(nic, E1000_CTRL) & E1000_CTRL_RST)) {
			wr(nic, E1000_IMC, 0xffffffffu); /* 14.4: masked again after the reset */
			rd(nic, E1000_ICR);
			return true;
		}
	}
	return false;
}

static void setup_rx(struct e1000 *nic)
{
	for (u32 i = 0; i < E1000_MTA_ENTRIES; i++)
		wr(nic, E1000_MTA + 4 * i, 0);
	for (u32 i = 0; i < E1000_RX_DESCS; i++)
		nic->rx[i] = (struct e1000_rx_desc){ .addr = dma_addr(nic->rx_buf[i]) };
	wr(nic, E1000_RDBAL, (u32)dma_addr(nic->rx));
	wr(nic, E1000_RDBAH, (u32)(dma_addr(nic->rx) >> 32));
	wr(nic, E1000_RDLEN, sizeof(nic->rx));
	wr(nic, E1000_RDH, 0);
	wr(nic, E1000_RDT, E1000_RX_DESCS - 1); /* all but one to the NIC */
	nic->rx_next = 0;
	wr(nic, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC);
}

static void setup_tx(struct e1000 *nic)
{
	memset(nic->tx, 0, sizeof(nic->tx));
	wr(nic, E1000_TDBAL, (u32)dma_addr(nic->tx));
	wr(nic, E1000_TDBAH, (u32)(dma_addr(nic->tx) >> 32));
	wr(nic, E1000_TDLEN, sizeof(nic->tx));
	wr(nic, E1000_TDH, 0);
	wr(nic, E1000_TDT, 0);
	nic->tx_next = nic->tx_clean = 0;
	wr(nic, E1000_TIPG, E1000_TIPG_COPPER);
	wr(nic, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT(0x0f) | E1000_TCTL_COLD(0x40));
}

static bool eeprom_read(struct e1000 *nic, u32 word, u16 *out)
{
	wr(nic, E1000_EERD, E1000_EERD_START | E1000_EERD_ADDR(word));
	for (u32 i = 0; i < EEPROM_POLLS; i++) {
		u32 v = rd(nic, E1000_EERD);
		if (v & E1000_EERD_DONE) {
			*out = E1000_EERD_DATA(v);
			return true;
		}
		udelay(10);
	}
	return false;
}

/* The receive address 0 (the unicast filter), from the EEPROM unless the
 * reset loaded it already (14.3: hardware reads the EEPROM on reset; some
 * models, Bochs' among them, leave it to the driver). */
static bool load_mac(struct e1000 *nic)
{
	u32 ral = rd(nic, E1000_RAL0), rah = rd(nic, E1000_RAH0);

	if (!(rah & E1000_RAH_AV)) {
		u16 w[E1000_EEPROM_MAC_WORDS];
		for (u32 i = 0; i < E1000_EEPROM_MAC_WORDS; i++)
			if (!eeprom_read(nic, i, &w[i]))
				return false;
		ral = w[0] | (u32)w[1] << 16;
		rah = w[2] | E1000_RAH_AV;
		wr(nic, E1000_RAL0, ral);
		wr(nic, E1000_RAH0, rah);
	}
	for (u32 i = 0; i < 4; i++)
		nic->mac[i] = (u8)(ral >> (8 * i));
	nic->mac[4] = (u8)rah;
	nic->mac[5] = (u8)(rah >> 8);
	return true;
}

bool e1000_init(struct e1000 *nic, u64 mmio)
{
	nic->regs = (volatile u32 *)mmio;
	if (!reset(nic))
		return false;
	wr(nic, E1000_CTRL, rd(nic, E1000_CTRL) | E1000_CTRL_SLU | E1000_CTRL_ASDE);
	if (!load_mac(nic))
		return false;
	setup_rx(nic);
	setup_tx(nic);
	return true;
}

bool e1000_tx_ready(struct e1000 *nic)
{
	while (nic->tx_clean != nic->tx_next &&
	       (__atomic_load_n(&nic->tx[nic->tx_clean % E1000_TX_DESCS].status, __ATOMIC_ACQUIRE) & E1000_TXD_STAT_DD))
		nic->tx_clean++;
	return nic->tx_next - nic->tx_clean < E1000_TX_DESCS - 1;
}

bool e1000_tx_idle(struct e1000 *nic)
{
	e1000_tx_ready(nic);
	return nic->tx_clean == nic->tx_next;
}

bool e1000_send(struct e1000 *nic, const void *frame, u32 len)
{
	if (len > E1000_BUF_SIZE || !e1000_tx_ready(nic))
		return false;
	u32 i = nic->tx_next % E1000_TX_DESCS;
	memcpy(nic->tx_buf[i], frame, len);
	nic->tx[i] = (struct e1000_tx_desc){
		.addr = dma_addr(nic->tx_buf[i]),
		.length = (u16)len,
		.cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS,
	};
	nic->tx_next++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(nic, E1000_TDT, nic->tx_next % E1000_TX_DESCS);
	return true;
}

u32 e1000_receive(struct e1000 *nic, void *buf, u32 max)
{
	for (;;) {
		u32 i = nic->rx_next % E1000_RX_DESCS;
		struct e1000_rx_desc *d = &nic->rx[i];
		u8 status = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
		if (!(status & E1000_RXD_STAT_DD))
			return 0;
		u32 len = d->length;
		bool whole = (status & E1000_RXD_STAT_EOP) && len <= max;
		if (whole)
			memcpy(buf, nic->rx_buf[i], len);
		d->status = 0;
		nic->rx_next++;
		wr(nic, E1000_RDT, i);
		if (whole)
			return len;
	}
}
