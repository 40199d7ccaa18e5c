/* Tiny 32-bit multiboot v1 kernel for testing the image builders and the Bochs runner.
 * Prints its command line and modules on COM1 (and port 0xE9), then, by command-line word:
 *   (default)  "SELFTEST OK", wait for the UART to drain, ACPI S5 power-off (ends Bochs)
 *   hang       "SELFTEST HANG", then cli;hlt forever (Bochs never exits by itself)
 * Build: see build.sh. No libc, no headers. */
typedef unsigned int u32; typedef unsigned short u16; typedef unsigned char u8;

static unsigned char stack[8192] __attribute__((aligned(16), used));
__asm__(".section .multiboot,\"a\"\n.align 4\n"
        ".long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)\n"   /* align mods, want mem info */
        ".text\n.globl _start\n_start:\n"
        "  mov $stack + 8192, %esp\n  push %ebx\n  push %eax\n  call kmain\n"
        "1: cli\n  hlt\n  jmp 1b\n");   /* GCC assumes .text is still current after this */

static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outw(u16 p, u16 v) { __asm__ volatile("outw %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outl(u16 p, u32 v) { __asm__ volatile("outl %0,%1" :: "a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 inl(u16 p) { u32 v; __asm__ volatile("inl %1,%0" : "=a"(v) : "Nd"(p)); return v; }

#define COM1 0x3F8
static void putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) ;   /* THR empty */
    outb(COM1, (u8)c);
    outb(0xE9, (u8)c);
}
static void puts(const char *s) { for (; *s; s++) { if (*s == '\n') putc('\r'); putc(*s); } }
static void hex(u32 v) { for (int i = 28; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 15]); }
static void puthex(u32 v) { puts("0x"); hex(v); }
static void drain(void) { while ((inb(COM1 + 5) & 0x60) != 0x60) ; }   /* THRE+TEMT */

static int has_word(const char *s, const char *w)
{
    for (const char *p = s; *p; p++) {
        if (p != s && p[-1] != ' ') continue;
        int i = 0;
        while (w[i] && p[i] == w[i]) i++;
        if (!w[i] && (p[i] == 0 || p[i] == ' ')) return 1;
    }
    return 0;
}

void kmain(u32 magic, u32 *mbi)
{
    outb(COM1 + 1, 0); outb(COM1 + 3, 0x80); outb(COM1 + 0, 1); outb(COM1 + 1, 0);   /* 115200 */
    outb(COM1 + 3, 0x03); outb(COM1 + 2, 0xC7); outb(COM1 + 4, 0x03);                 /* 8N1, FIFO */
    unsigned long long tsc;
    __asm__ volatile("rdtsc" : "=A"(tsc));   /* = Bochs ticks with clock: sync=none */
    puts("\nSELFTEST: hello magic="); puthex(magic);
    puts(" tsc="); puthex((u32)(tsc >> 32)); hex((u32)tsc); puts("\n");
    const char *cmd = (mbi[0] & 4) ? (const char *)mbi[4] : "";
    puts("SELFTEST: cmdline='"); puts(cmd); puts("'\n");
    u32 n = (mbi[0] & 8) ? mbi[5] : 0, *m = (u32 *)mbi[6];
    puts("SELFTEST: mods="); puthex(n); puts("\n");
    for (u32 i = 0; i < n; i++, m += 4) {
        const u8 *b = (const u8 *)m[0];
        puts("SELFTEST: mod size="); puthex(m[1] - m[0]);
        puts(" sig="); puthex(m[1] - m[0] >= 512 ? (u32)(b[510] << 8 | b[511]) : 0);
        puts(" cmdline='"); puts(m[2] ? (const char *)m[2] : ""); puts("'\n");
    }
    if (has_word(cmd, "hang")) {
        puts("SELFTEST HANG\n");
        for (;;) __asm__ volatile("cli; hlt");
    }
    puts("SELFTEST OK\n");
    drain();
    /* ACPI S5: PIIX4 PM function (PCI 0:1.3), PMBA at config 0x40; PM1a_CNT = base+4, SLP_EN */
    outl(0xCF8, 0x80000000u | (1u << 11) | (3u << 8) | 0x40);
    outw((u16)((inl(0xCFC) & 0xFFC0) + 4), 0x2000);
    for (;;) __asm__ volatile("cli; hlt");
}
