/* See xmhf/netlog.h. lwIP (Debian's sources, NO_SYS raw API) runs on one
 * CPU at a time: whoever takes 'busy'. A line is sent only once the
 * receiver's MAC address is in the ARP cache and a transmit descriptor is
 * free, so lines leave in console order and none is lost after queueing
 * unless the queue was full. */
#include "e1000.h"
#include "line_ring.h"
#include "pci.h"
#include <lwip/etharp.h>
#include <lwip/init.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/timeouts.h>
#include <lwip/udp.h>
#include <netif/ethernet.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/format.h>
#include <xmhf/log.h>
#include <xmhf/netlog.h>
#include <xmhf/power.h>
#include <xmhf/string.h>

#define ARP_RETRY_MS 500
#define FLUSH_MS 2000
#define NETLOG_MTU 1500

static struct netlog_config config;
static struct line_ring ring;
static struct e1000 nic __attribute__((aligned(4096)));
static struct netif netif;
static struct udp_pcb *pcb;
static ip4_addr_t dest;
bool netlog_running;
static bool busy; /* a CPU is in lwIP */
static u64 tsc_per_ms;
static u32 last_arp_ms;
static bool arp_sent;
static u8 frame[E1000_BUF_SIZE];

u32_t sys_now(void) { return (u32_t)(rdtsc() / tsc_per_ms); }

static void queue_line(const char *s) { line_ring_put(&ring, s); }
static void flush(void);

void netlog_capture(const struct netlog_config *cfg)
{
	config = *cfg;
	if (config.on)
		console_set_sink(queue_line, flush);
}

static void channel_off(void)
{
	console_set_sink(NULL, NULL);
	config.on = false;
}

static void print_bdf(char *buf, size_t n, u16 bdf)
{
	xsnprintf(buf, n, "%02x:%02x.%x", PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf), PCI_BDF_FN(bdf));
}

bool netlog_probe(struct netlog_nic *n)
{
	const u32 e1000_id = (u32)E1000_DEVICE_82540EM << 16 | E1000_VENDOR_INTEL;
	char where[16];
	struct pci_bar bars[PCI_BARS];

	if (!config.on)
		return false;
	u32 bdf = config.any_e1000 ? pci_find(E1000_VENDOR_INTEL, E1000_DEVICE_82540EM) : config.bdf;
	print_bdf(where, sizeof(where), (u16)bdf);
	if (bdf == PCI_NO_DEVICE || pci_read32((u16)bdf, PCI_VENDOR_DEVICE) != e1000_id) {
		pr_warn("xmhf: netlog: no Intel 82540EM (8086:100e) %s%s: the network log is off",
			config.any_e1000 ? "found" : "at ", config.any_e1000 ? "" : where);
		channel_off();
		return false;
	}
	memset(n, 0, sizeof(*n));
	n->bdf = (u16)bdf;
	pci_read_bars(n->bdf, bars);
	for (u32 i = 0; i < PCI_BARS; i++)
		if (bars[i].size)
			n->bars[n->n_bars++] = (struct netlog_bar){ bars[i].io, bars[i].base, bars[i].size };
	n->mmio = bars[0].base;
	if (bars[0].io || bars[0].size < E1000_MMIO_SIZE || !bars[0].base) {
		pr_warn("xmhf: netlog: %s: BAR0 is no memory BAR of 128 KiB: the network log is off", where);
		channel_off();
		return false;
	}
	return true;
}

static err_t link_output(struct netif *nif, struct pbuf *p)
{
	static u8 out[E1000_BUF_SIZE];

	if (p->tot_len > sizeof(out))
		return ERR_BUF;
	u16 len = pbuf_copy_partial(p, out, p->tot_len, 0);
	return e1000_send(&nic, out, len) ? ERR_OK : ERR_MEM;
}

static err_t netif_setup(struct netif *nif)
{
	nif->name[0] = 'n';
	nif->name[1] = 'l';
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, nic.mac, ETH_HWADDR_LEN);
	nif->mtu = NETLOG_MTU;
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	nif->output = etharp_output;
	nif->linkoutput = link_output;
	return ERR_OK;
}

static void set_ip(ip4_addr_t *a, u32 v) { ip4_addr_set_u32(a, lwip_htonl(v)); }

bool netlog_start(const struct netlog_nic *n, bool dma_blocked)
{
	char where[16];
	ip4_addr_t ip, any_mask, no_gateway;

	if (!config.on)
		return false;
	if (dma_blocked) {
		pr_warn("xmhf: netlog: VT-d blocks the NIC's DMA to hypervisor memory: the network log is off");
		channel_off();
		return false;
	}
	print_bdf(where, sizeof(where), n->bdf);
	u32 command = pci_read32(n->bdf, PCI_COMMAND);
	pci_write32(n->bdf, PCI_COMMAND, command | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER | PCI_COMMAND_INTX_DISABLE);
	u64 t0 = rdtsc();
	udelay(1000);
	tsc_per_ms = rdtsc() - t0 ?: 1;
	if (!e1000_init(&nic, n->mmio)) {
		pr_warn("xmhf: netlog: the 82540EM at %s does not reset or has no MAC address: the network log is off", where);
		channel_off();
		return false;
	}
	lwip_init();
	set_ip(&ip, config.ip);
	/* netmask 0: every address is on the link (ARP for the receiver itself) */
	set_ip(&any_mask, 0);
	set_ip(&no_gateway, 0);
	set_ip(&dest, config.dest_ip);
	netif_add(&netif, &ip, &any_mask, &no_gateway, NULL, netif_setup, ethernet_input);
	netif_set_default(&netif);
	netif_set_up(&netif);
	pcb = udp_new();
	if (!pcb || udp_bind(pcb, IP4_ADDR_ANY, config.dest_port) != ERR_OK) {
		pr_warn("xmhf: netlog: no UDP socket: the network log is off");
		channel_off();
		return false;
	}
	const u8 *m = nic.mac;
	u32 a = config.ip, d = config.dest_ip;
	pr_info("xmhf: netlog: 82540EM at %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, %u.%u.%u.%u -> %u.%u.%u.%u:%u", where,
		m[0], m[1], m[2], m[3], m[4], m[5], a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, d >> 24,
		(d >> 16) & 0xff, (d >> 8) & 0xff, d & 0xff, config.dest_port);
	__atomic_store_n(&netlog_running, true, __ATOMIC_RELEASE);
	return true;
}

static void receive_frames(void)
{
	for (u32 i = 0; i < E1000_RX_DESCS; i++) {
		u32 len = e1000_receive(&nic, frame, sizeof(frame));
		if (!len)
			return;
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16)len, PBUF_POOL);
		if (!p)
			return;
		pbuf_take(p, frame, (u16)len);
		if (netif.input(p, &netif) != ERR_OK)
			pbuf_free(p);
	}
}

/* Whether the receiver's MAC address is known; else ask (every ARP_RETRY_MS). */
static bool receiver_known(void)
{
	struct eth_addr *mac;
	const ip4_addr_t *ip;

	if (etharp_find_addr(&netif, &dest, &mac, &ip) >= 0)
		return true;
	if (!arp_sent || sys_now() - last_arp_ms >= ARP_RETRY_MS) {
		etharp_request(&netif, &dest);
		last_arp_ms = sys_now();
		arp_sent = true;
	}
	return false;
}

static bool send_line(const char *s, u32 len)
{
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16)len, PBUF_RAM);

	if (!p)
		return false;
	pbuf_take(p, s, (u16)len);
	err_t err = udp_sendto(pcb, p, &dest, config.dest_port);
	pbuf_free(p);
	return err == ERR_OK;
}

/* With 'busy' held: true once the queue is empty. */
static bool pump(void)
{
	const char *s;
	u32 len, lost;

	receive_frames();
	sys_check_timeouts();
	if (!receiver_known())
		return false;
	if ((lost = line_ring_take_lost(&ring)))
		pr_warn("xmhf: netlog: %u lines lost (queue full)", lost);
	while ((s = line_ring_peek(&ring, &len))) {
		if (!e1000_tx_ready(&nic) || !send_line(s, len))
			return false;
		line_ring_pop(&ring);
	}
	return true;
}

/* Test before the exchange: CPUs that find it taken leave its cache line alone. */
static bool take_channel(void)
{
	return __atomic_load_n(&netlog_running, __ATOMIC_ACQUIRE) && !__atomic_load_n(&busy, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(&busy, true, __ATOMIC_ACQUIRE);
}

static void release_channel(void) { __atomic_store_n(&busy, false, __ATOMIC_RELEASE); }

/* Nothing queued: nothing to do (received frames wait in the NIC's ring,
 * dropped when it is full; ARP replies matter only while lines wait). */
void netlog_send_queued(void)
{
	if (!line_ring_pending(&ring) || !take_channel())
		return;
	pump();
	release_channel();
}

/* console_drain: before a power-off or halt, send everything queued (and
 * let the NIC finish), for at most FLUSH_MS. */
static void flush(void)
{
	if (!take_channel())
		return;
	u64 deadline = rdtsc() + FLUSH_MS * tsc_per_ms;
	while (!(pump() && e1000_tx_idle(&nic)) && rdtsc() < deadline)
		udelay(100);
	release_channel();
}
