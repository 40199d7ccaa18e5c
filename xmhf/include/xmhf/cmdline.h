/* The command line (multiboot, or xmhf.efi's load options):
 * serial=BAUD[,DPS[,IOPORT]] boot_drive=0x80..0x8f
 * loglvl=error|warn|info|debug|trace e9=on|off evlog_period=TICKS
 * netlog=NIC,IP,DEST_IP:PORT, other key=value kept for the hypapp. A
 * malformed value keeps the default (netlog: off) and records a warning
 * that is printed once the console is up. */
#ifndef XMHF_CMDLINE_H
#define XMHF_CMDLINE_H

#include <xmhf/types.h>

enum loglvl { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

struct uart_config {
	u32 baud;      /* 1200..115200, must divide 115200 */
	u8 data_bits;  /* 5..8 */
	char parity;   /* 'n' 'o' 'e' 'm' 's' */
	u8 stop_bits;  /* 1 or 2 */
	u16 port;      /* I/O port base */
};

/* netlog=NIC,IP,DEST_IP:PORT: NIC is "e1000" (the first 82540EM a PCI scan
 * finds) or a PCI address BB:DD.F (hex); addresses are IPv4 dotted quads,
 * held as a << 24 | b << 16 | c << 8 | d. */
struct netlog_config {
	bool on;
	bool any_e1000;   /* NIC "e1000"; else the function at bdf */
	u16 bdf;          /* bus << 8 | device << 3 | function */
	u32 ip;           /* ours */
	u32 dest_ip;      /* the receiver's, on the same link */
	u16 dest_port;    /* 1..65535 */
};

#define CMDLINE_MAX_EXTRA 16
#define CMDLINE_KEY_LEN 32
#define CMDLINE_VALUE_LEN 128
#define CMDLINE_MAX_WARNINGS 8
#define CMDLINE_WARNING_LEN 128

struct cmdline_extra {
	char key[CMDLINE_KEY_LEN];
	char value[CMDLINE_VALUE_LEN];
};

struct cmdline {
	struct uart_config serial;  /* default 115200,8n1,0x3f8 */
	u8 boot_drive;              /* default 0x80 */
	enum loglvl loglvl;         /* default info */
	bool e9;                    /* default off */
	u64 evlog_period;           /* event logger period in TSC ticks; default 0: at power-off only */
	struct netlog_config netlog; /* default off */
	struct cmdline_extra extra[CMDLINE_MAX_EXTRA];
	u32 n_extra;
	char warnings[CMDLINE_MAX_WARNINGS][CMDLINE_WARNING_LEN];
	u32 n_warnings;             /* may exceed CMDLINE_MAX_WARNINGS: count of all */
};

void cmdline_defaults(struct cmdline *c);
/* Reset c to the defaults, then parse s (NUL-terminated, may be NULL) over
 * them; a later key=value overrides an earlier one. Never fails. */
void cmdline_parse(const char *s, struct cmdline *c);
/* Value of an extra key, or NULL. */
const char *cmdline_extra(const struct cmdline *c, const char *key);

#endif
