/* Output to COM1 (16550, polled) and to port 0xE9 (Bochs/QEMU debug port), plus a tiny printf. */
#include "kernel.h"

#define COM1 0x3F8
#define LSR  (COM1 + 5)
#define LSR_THRE BIT(5)                 /* transmit holding register empty */
#define LSR_TEMT BIT(6)                 /* transmitter empty (shift register too) */

void console_init(void)
{
    outb(COM1 + 1, 0x00);               /* IER: no interrupts */
    outb(COM1 + 3, 0x80);               /* LCR: DLAB */
    outb(COM1 + 0, 0x01);               /* divisor 1 = 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);               /* 8n1 */
    outb(COM1 + 2, 0xC7);               /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);               /* DTR, RTS */
}

static void putc_hw(char c)
{
    for (uint32_t spin = 0; !(inb(LSR) & LSR_THRE) && spin < 10000000; spin++)
        ;
    outb(COM1, (uint8_t)c);
    outb(0xE9, (uint8_t)c);
}

/* Wait until the UART has sent everything, so the last line reaches the log before power-off. */
void console_drain(void)
{
    for (uint32_t spin = 0; (inb(LSR) & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT) && spin < 10000000; spin++)
        ;
}

/* --- formatter: %s %c %d %u %x %llx, flags '0', width; writes at most size-1 chars + NUL --- */
struct out { char *buf; size_t size, len; };

static void emit(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void emit_num(struct out *o, uint64_t v, unsigned base, int width, char pad, bool neg)
{
    char tmp[24];
    int n = 0;
    do {                                 /* base is 10 or 16; 64-bit values only in hex */
        unsigned d = base == 16 ? (unsigned)(v & 15) : (unsigned)((uint32_t)v % 10);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v = base == 16 ? v >> 4 : (uint32_t)v / 10;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    while (width-- > n)
        emit(o, pad);
    while (n)
        emit(o, tmp[--n]);
}

int vsformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(&o, *fmt);
            continue;
        }
        char pad = ' ';
        int width = 0, longs = 0;
        if (*++fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            longs++, fmt++;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                emit(&o, *s++);
            break;
        }
        case 'c': emit(&o, (char)va_arg(ap, int)); break;
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            emit_num(&o, v < 0 ? -(uint32_t)v : (uint32_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u': emit_num(&o, va_arg(ap, uint32_t), 10, width, pad, false); break;
        case 'x':
            emit_num(&o, longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 16, width, pad, false);
            break;
        case '%': emit(&o, '%'); break;
        default: emit(&o, '?'); break;
        }
        if (!*fmt)
            break;
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int sformat(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (const char *p = buf; *p; p++) {
        if (*p == '\n')
            putc_hw('\r');
        putc_hw(*p);
    }
}

void *memcpy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    char *d = dst;
    while (n--)
        *d++ = (char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}
