/* Multiboot command line parser: see cmdline.h. Words are separated by
 * whitespace; a word is key=value and the value ends at the next space. */
#include <xmhf/cmdline.h>
#include <xmhf/format.h>
#include <xmhf/string.h>

/* A slice of the command line: not NUL-terminated. */
struct slice {
	const char *s;
	size_t len;
};

static const char *const loglvl_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

__attribute__((format(printf, 2, 3)))
static void warn(struct cmdline *c, const char *fmt, ...)
{
	va_list ap;

	if (c->n_warnings < CMDLINE_MAX_WARNINGS) {
		va_start(ap, fmt);
		xvsnprintf(c->warnings[c->n_warnings], CMDLINE_WARNING_LEN, fmt, ap);
		va_end(ap);
	}
	c->n_warnings++;
}

static bool slice_is(struct slice v, const char *lit)
{
	return strlen(lit) == v.len && memcmp(v.s, lit, v.len) == 0;
}

/* Take the text up to the first ',' off *v; *more tells if a ',' followed. */
static struct slice next_field(struct slice *v, bool *more)
{
	struct slice field = { v->s, 0 };

	while (field.len < v->len && v->s[field.len] != ',')
		field.len++;
	*more = field.len < v->len;
	v->s += field.len + *more;
	v->len -= field.len + *more;
	return field;
}

static bool parse_baud(struct slice f, struct uart_config *u)
{
	u64 baud;

	if (!parse_u64(f.s, f.len, &baud) || baud < 1200 || baud > 115200 ||
	    115200 % baud)
		return false;
	u->baud = (u32)baud;
	return true;
}

/* "8n1": data bits 5..8, parity n/o/e/m/s, stop bits 1..2. */
static bool parse_dps(struct slice f, struct uart_config *u)
{
	char parity;

	if (f.len != 3 || f.s[0] < '5' || f.s[0] > '8' || f.s[2] < '1' || f.s[2] > '2')
		return false;
	parity = (char)(f.s[1] | 0x20);  /* lower case */
	if (parity != 'n' && parity != 'o' && parity != 'e' && parity != 'm' &&
	    parity != 's')
		return false;
	u->data_bits = (u8)(f.s[0] - '0');
	u->parity = parity;
	u->stop_bits = (u8)(f.s[2] - '0');
	return true;
}

static bool parse_port(struct slice f, struct uart_config *u)
{
	u64 port;

	/* the UART's 8 registers must fit below 0x10000 */
	if (!parse_u64(f.s, f.len, &port) || port < 1 || port > 0xfff8)
		return false;
	u->port = (u16)port;
	return true;
}

/* serial=BAUD[,DPS[,IOPORT]]: each bad field keeps its current value. */
static void set_serial(struct cmdline *c, struct slice v)
{
	struct uart_config *u = &c->serial;
	struct slice rest = v, f;
	bool more;

	f = next_field(&rest, &more);
	if (!parse_baud(f, u))
		warn(c, "cmdline: serial=%.*s: bad baud rate '%.*s', using %u",
		     (int)v.len, v.s, (int)f.len, f.s, u->baud);
	if (!more)
		return;
	f = next_field(&rest, &more);
	if (!parse_dps(f, u))
		warn(c, "cmdline: serial=%.*s: bad format '%.*s', using %u%c%u",
		     (int)v.len, v.s, (int)f.len, f.s, u->data_bits, u->parity,
		     u->stop_bits);
	if (!more)
		return;
	f = next_field(&rest, &more);
	if (!parse_port(f, u))
		warn(c, "cmdline: serial=%.*s: bad I/O port '%.*s', using 0x%x",
		     (int)v.len, v.s, (int)f.len, f.s, u->port);
	if (more)
		warn(c, "cmdline: serial=%.*s: ignoring '%.*s' after the I/O port",
		     (int)v.len, v.s, (int)rest.len, rest.s);
}

static void set_boot_drive(struct cmdline *c, struct slice v)
{
	u64 drive;

	if (parse_u64(v.s, v.len, &drive) && drive >= 0x80 && drive <= 0x8f)
		c->boot_drive = (u8)drive;
	else
		warn(c, "cmdline: boot_drive=%.*s: not a BIOS hard disk 0x80..0x8f, using 0x%x",
		     (int)v.len, v.s, c->boot_drive);
}

static void set_loglvl(struct cmdline *c, struct slice v)
{
	for (u32 i = 0; i < ARRAY_SIZE(loglvl_names); i++) {
		if (slice_is(v, loglvl_names[i])) {
			c->loglvl = (enum loglvl)i;
			return;
		}
	}
	warn(c, "cmdline: loglvl=%.*s: expected error|warn|info|debug|trace, using %s",
	     (int)v.len, v.s, loglvl_names[c->loglvl]);
}

static void set_e9(struct cmdline *c, struct slice v)
{
	if (slice_is(v, "on"))
		c->e9 = true;
	else if (slice_is(v, "off"))
		c->e9 = false;
	else
		warn(c, "cmdline: e9=%.*s: expected on or off, using %s",
		     (int)v.len, v.s, c->e9 ? "on" : "off");
}

static void set_evlog_period(struct cmdline *c, struct slice v)
{
	u64 ticks;

	if (parse_u64(v.s, v.len, &ticks))
		c->evlog_period = ticks;
	else
		warn(c, "cmdline: evlog_period=%.*s: not a number of TSC ticks, using %llu",
		     (int)v.len, v.s, c->evlog_period);
}

/* 1..max_len digits of base 10 or 16 only (no prefix, no sign), at most max. */
static bool parse_digits(struct slice f, unsigned base, size_t max_len, u64 max, u64 *out)
{
	u64 v = 0;

	if (!f.len || f.len > max_len)
		return false;
	for (size_t i = 0; i < f.len; i++) {
		char ch = (char)(f.s[i] | 0x20);
		unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') :
			     ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 16;
		if (d >= base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return v <= max;
}

/* "e1000" or a PCI address BB:DD.F (hex: bus 00..ff, device 00..1f, function 0..7). */
static bool parse_nic(struct slice f, struct netlog_config *n)
{
	u64 bus, dev, fn;

	if (slice_is(f, "e1000")) {
		n->any_e1000 = true;
		return true;
	}
	if (f.len != 7 || f.s[2] != ':' || f.s[5] != '.' ||
	    !parse_digits((struct slice){ f.s, 2 }, 16, 2, 0xff, &bus) ||
	    !parse_digits((struct slice){ f.s + 3, 2 }, 16, 2, 0x1f, &dev) ||
	    !parse_digits((struct slice){ f.s + 6, 1 }, 16, 1, 7, &fn))
		return false;
	n->any_e1000 = false;
	n->bdf = (u16)(bus << 8 | dev << 3 | fn);
	return true;
}

/* A dotted quad a.b.c.d, each 0..255 in decimal; not 0.0.0.0 nor 255.255.255.255. */
static bool parse_ipv4(struct slice f, u32 *ip)
{
	struct slice rest = f;
	u32 v = 0;

	for (int i = 0; i < 4; i++) {
		struct slice part = { rest.s, 0 };
		u64 octet;

		while (part.len < rest.len && rest.s[part.len] != '.')
			part.len++;
		if ((i < 3) != (part.len < rest.len) || !parse_digits(part, 10, 3, 255, &octet))
			return false;
		v = v << 8 | (u32)octet;
		rest.s += part.len + (i < 3);
		rest.len -= part.len + (i < 3);
	}
	*ip = v;
	return v != 0 && v != 0xffffffffu;
}

/* "DEST_IP:PORT", port 1..65535 in decimal. */
static bool parse_dest(struct slice f, struct netlog_config *n)
{
	struct slice ip = { f.s, 0 };
	u64 port;

	while (ip.len < f.len && f.s[ip.len] != ':')
		ip.len++;
	if (ip.len == f.len || !parse_ipv4(ip, &n->dest_ip))
		return false;
	struct slice p = { f.s + ip.len + 1, f.len - ip.len - 1 };
	if (!parse_digits(p, 10, 5, 0xffff, &port) || port < 1)
		return false;
	n->dest_port = (u16)port;
	return true;
}

/* netlog=NIC,IP,DEST_IP:PORT: all fields valid, or the channel is off. */
static void set_netlog(struct cmdline *c, struct slice v)
{
	struct netlog_config n = { .on = true };
	struct slice rest = v, nic, ip, dest;
	bool more;
	const char *bad = NULL;

	nic = next_field(&rest, &more);
	ip = more ? next_field(&rest, &more) : (struct slice){ NULL, 0 };
	dest = more ? next_field(&rest, &more) : (struct slice){ NULL, 0 };
	if (!parse_nic(nic, &n))
		bad = "NIC (e1000 or a PCI address BB:DD.F)";
	else if (!ip.s || !parse_ipv4(ip, &n.ip))
		bad = "IP address";
	else if (!dest.s || !parse_dest(dest, &n))
		bad = "destination (DEST_IP:PORT)";
	else if (more)
		bad = "field count (NIC,IP,DEST_IP:PORT)";
	if (bad) {
		warn(c, "cmdline: netlog=%.*s: bad %s, the network log is off", (int)v.len, v.s, bad);
		c->netlog.on = false;
		return;
	}
	c->netlog = n;
}

static void copy_slice(char *dst, struct slice v)
{
	memcpy(dst, v.s, v.len);
	dst[v.len] = '\0';
}

static void set_extra(struct cmdline *c, struct slice key, struct slice v)
{
	struct cmdline_extra *e = NULL;

	if (key.len >= CMDLINE_KEY_LEN) {
		warn(c, "cmdline: key '%.*s' longer than %d bytes, ignored",
		     (int)key.len, key.s, CMDLINE_KEY_LEN - 1);
		return;
	}
	if (v.len >= CMDLINE_VALUE_LEN) {
		warn(c, "cmdline: value of '%.*s' longer than %d bytes, ignored",
		     (int)key.len, key.s, CMDLINE_VALUE_LEN - 1);
		return;
	}
	for (u32 i = 0; i < c->n_extra && !e; i++)
		if (slice_is(key, c->extra[i].key))
			e = &c->extra[i];
	if (!e) {
		if (c->n_extra == CMDLINE_MAX_EXTRA) {
			warn(c, "cmdline: more than %d other options, '%.*s' ignored",
			     CMDLINE_MAX_EXTRA, (int)key.len, key.s);
			return;
		}
		e = &c->extra[c->n_extra++];
		copy_slice(e->key, key);
	}
	copy_slice(e->value, v);
}

static const struct {
	const char *key;
	void (*set)(struct cmdline *c, struct slice value);
} known_keys[] = {
	{ "serial", set_serial },
	{ "boot_drive", set_boot_drive },
	{ "loglvl", set_loglvl },
	{ "e9", set_e9 },
	{ "evlog_period", set_evlog_period },
	{ "netlog", set_netlog },
};

static void parse_word(struct cmdline *c, struct slice w, bool first)
{
	struct slice key = { w.s, 0 }, value;

	while (key.len < w.len && w.s[key.len] != '=')
		key.len++;
	if (key.len == w.len) {
		/* Some loaders prepend the kernel's path. */
		if (!(first && w.s[0] == '/'))
			warn(c, "cmdline: '%.*s' ignored: expected key=value",
			     (int)w.len, w.s);
		return;
	}
	if (!key.len) {
		warn(c, "cmdline: '%.*s' ignored: empty key", (int)w.len, w.s);
		return;
	}
	value.s = w.s + key.len + 1;
	value.len = w.len - key.len - 1;
	for (u32 i = 0; i < ARRAY_SIZE(known_keys); i++) {
		if (slice_is(key, known_keys[i].key)) {
			known_keys[i].set(c, value);
			return;
		}
	}
	set_extra(c, key, value);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\v' || ch == '\f';
}

void cmdline_defaults(struct cmdline *c)
{
	memset(c, 0, sizeof(*c));
	c->serial = (struct uart_config){
		.baud = 115200, .data_bits = 8, .parity = 'n', .stop_bits = 1,
		.port = 0x3f8,
	};
	c->boot_drive = 0x80;
	c->loglvl = LOG_INFO;
	c->e9 = false;
	c->evlog_period = 0;
}

void cmdline_parse(const char *s, struct cmdline *c)
{
	bool first = true;

	cmdline_defaults(c);
	if (!s)
		return;
	for (;;) {
		struct slice w;

		while (is_space(*s))
			s++;
		if (!*s)
			return;
		w.s = s;
		while (*s && !is_space(*s))
			s++;
		w.len = (size_t)(s - w.s);
		parse_word(c, w, first);
		first = false;
	}
}

const char *cmdline_extra(const struct cmdline *c, const char *key)
{
	for (u32 i = 0; i < c->n_extra; i++)
		if (strcmp(c->extra[i].key, key) == 0)
			return c->extra[i].value;
	return NULL;
}
