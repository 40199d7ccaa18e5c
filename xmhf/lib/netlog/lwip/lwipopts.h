/* lwIP options for the network log: no OS (NO_SYS raw API, polled), IPv4
 * with ARP and UDP only, on one netif; the rest of lwIP is compiled out.
 * Datagrams are console lines (< LOG_LINE_MAX bytes): no fragmentation. */
#ifndef NETLOG_LWIPOPTS_H
#define NETLOG_LWIPOPTS_H

#define NO_SYS 1
#define LWIP_TIMERS 1 /* the ARP cache's ageing; sys_now() from the TSC */
#define SYS_LIGHTWEIGHT_PROT 0 /* one CPU at a time: the network log's lock */
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define ARP_QUEUEING 0 /* netlog.c sends only once the receiver's MAC is known */
#define LWIP_UDP 1
#define LWIP_TCP 0
#define LWIP_RAW 0
#define LWIP_ICMP 0
#define LWIP_IGMP 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0
#define LWIP_SINGLE_NETIF 1
#define LWIP_NETIF_TX_SINGLE_PBUF 1
#define LWIP_STATS 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE 8192
#define MEMP_NUM_PBUF 8
#define MEMP_NUM_UDP_PCB 1
#define PBUF_POOL_SIZE 8
#define PBUF_POOL_BUFSIZE 1536

#endif
