/* The network log (docs/netlog.md): every console line as a UDP datagram
 * from a NIC the hypervisor keeps for itself (an Intel 82540EM, "e1000"),
 * hidden from the guest. Lines are queued by the console (never waiting)
 * and sent from safe points (netlog_poll after each VM exit, and
 * console_drain) by whichever CPU gets the channel; lines lost to a full
 * queue are counted and reported. */
#ifndef XMHF_NETLOG_H
#define XMHF_NETLOG_H

#include <xmhf/cmdline.h>
#include <xmhf/types.h>

#define NETLOG_MAX_BARS 6

struct netlog_bar {
	bool io;
	u64 base;
	u64 size;
};

/* The NIC found for netlog=: its PCI function and the ranges it decodes
 * (each must be hidden from the guest: I/O ports, MMIO pages). */
struct netlog_nic {
	u16 bdf;
	struct netlog_bar bars[NETLOG_MAX_BARS];
	u32 n_bars;
	u64 mmio; /* BAR0, the registers */
};

/* Queue every console line from now on (cfg->on: right after the command
 * line is parsed, so that the channel carries the runtime's first line). */
void netlog_capture(const struct netlog_config *cfg);
/* Find the NIC netlog= names (PCI scan, before the guest runs); false,
 * with a console warning and the channel off, if there is none. */
bool netlog_probe(struct netlog_nic *nic);
/* Reset the NIC (its MMIO mapped uncached) and bring up lwIP; false, with
 * a console warning and the channel off, if the NIC does not come up or
 * dma_blocked (VT-d protects the hypervisor's memory, its rings among it,
 * from every device: docs/netlog.md). */
bool netlog_start(const struct netlog_nic *nic, bool dma_blocked);
/* Send what is queued (as far as the NIC takes it now). Any CPU, any time
 * no console line lock is held; returns at once if another CPU sends.
 * netlog_poll is the call for every VM exit: one load while the channel is
 * off (netlog_running: set once netlog_start succeeded). */
extern bool netlog_running;
void netlog_send_queued(void);
static inline void netlog_poll(void)
{
	if (__atomic_load_n(&netlog_running, __ATOMIC_RELAXED))
		netlog_send_queued();
}

#endif
