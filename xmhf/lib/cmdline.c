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
