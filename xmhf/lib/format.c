/* xvsnprintf: see format.h. */
#include <xmhf/format.h>

struct out {
	char *buf;
	size_t size;
	size_t len;   /* length of the full output so far */
};

struct spec {
	bool left;    /* '-' */
	bool zero;    /* '0' */
	int width;
	int precision; /* -1 if none */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_n(struct out *o, char c, int n)
{
	for (; n > 0; n--)
		put(o, c);
}

/* prefix ("-", "0x" or "") then body, padded to the width. */
static void put_field(struct out *o, const struct spec *sp, const char *prefix,
		      int zeros, const char *body, int body_len)
{
	int prefix_len = 0;
	int pad;

	while (prefix[prefix_len])
		prefix_len++;
	pad = sp->width - prefix_len - zeros - body_len;
	if (!sp->left && !sp->zero)
		put_n(o, ' ', pad);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	if (!sp->left && sp->zero)
		put_n(o, '0', pad);
	put_n(o, '0', zeros);
	for (int i = 0; i < body_len; i++)
		put(o, body[i]);
	if (sp->left)
		put_n(o, ' ', pad);
}

static void put_number(struct out *o, struct spec sp, u64 v, bool negative,
		       unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = sizeof(tmp);

	do {
		tmp[--n] = digits[v % base];
		v /= base;
	} while (v);
	/* C99: precision 0 prints nothing for the value 0. */
	if (sp.precision == 0 && n == (int)sizeof(tmp) - 1 && tmp[n] == '0')
		n++;
	if (sp.precision >= 0)
		sp.zero = false;
	int len = (int)sizeof(tmp) - n;
	int zeros = sp.precision > len ? sp.precision - len : 0;

	put_field(o, &sp, negative ? "-" : prefix, zeros, tmp + n, len);
}

static void put_string(struct out *o, struct spec sp, const char *s)
{
	int len = 0;

	if (!s)
		s = "(null)";
	while (s[len] && (sp.precision < 0 || len < sp.precision))
		len++;
	sp.zero = false;
	put_field(o, &sp, "", 0, s, len);
}

/* Digits or '*' (taken from ap); *fmt is advanced past them. */
static int parse_count(const char **fmt, va_list *ap)
{
	int n = 0;

	if (**fmt == '*') {
		(*fmt)++;
		return va_arg(*ap, int);
	}
	while (**fmt >= '0' && **fmt <= '9') {
		if (n < 100000)
			n = n * 10 + (**fmt - '0');
		(*fmt)++;
	}
	return n;
}

enum length { LEN_HH, LEN_H, LEN_INT, LEN_L, LEN_LL, LEN_Z };

static enum length parse_length(const char **fmt)
{
	char c = **fmt;

	switch (c) {
	case 'h':
	case 'l': {
		bool doubled = (*fmt)[1] == c;

		*fmt += 1 + doubled;
		if (c == 'h')
			return doubled ? LEN_HH : LEN_H;
		return doubled ? LEN_LL : LEN_L;
	}
	case 'z':
		(*fmt)++;
		return LEN_Z;
	default:
		return LEN_INT;
	}
}

static i64 signed_arg(enum length len, va_list *ap)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z:
		return va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, int);
	}
}

static u64 unsigned_arg(enum length len, va_list *ap)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned);
	}
}

/* One conversion; *fmt points after the '%' and is advanced past it. */
static void convert(struct out *o, const char **fmt, va_list *ap)
{
	struct spec sp = { .precision = -1 };

	for (;; (*fmt)++) {
		if (**fmt == '-')
			sp.left = true;
		else if (**fmt == '0')
			sp.zero = true;
		else
			break;
	}
	sp.width = parse_count(fmt, ap);
	if (sp.width < 0) {  /* C99 7.19.6.1: a negative '*' width is '-' */
		sp.left = true;
		sp.width = sp.width == INT32_MIN ? 0 : -sp.width;
	}
	if (**fmt == '.') {
		(*fmt)++;
		sp.precision = parse_count(fmt, ap);
		if (sp.precision < 0)
			sp.precision = -1;
	}
	enum length len = parse_length(fmt);
	char conv = **fmt;

	if (conv)
		(*fmt)++;
	switch (conv) {
	case 'd':
	case 'i': {
		i64 v = signed_arg(len, ap);

		put_number(o, sp, v < 0 ? 0 - (u64)v : (u64)v, v < 0, 10, false, "");
		break;
	}
	case 'u':
		put_number(o, sp, unsigned_arg(len, ap), false, 10, false, "");
		break;
	case 'x':
	case 'X':
		put_number(o, sp, unsigned_arg(len, ap), false, 16, conv == 'X', "");
		break;
	case 'p':
		put_number(o, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false, "0x");
		break;
	case 's':
		put_string(o, sp, va_arg(*ap, const char *));
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		sp.zero = false;
		put_field(o, &sp, "", 0, &c, 1);
		break;
	}
	case '%':
		put(o, '%');
		break;
	default:  /* unknown or missing conversion: print it as written */
		put(o, '%');
		if (conv)
			put(o, conv);
	}
}

int xvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		convert(&o, &fmt, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
