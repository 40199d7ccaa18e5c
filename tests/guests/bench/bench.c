/* bench.c -- exit round-trip micro-benchmarks for tools/bench/vmexit.sh.
 *
 * Runs each loop below N times between two RDTSCs and prints
 *   BENCH <name> n=<N> ticks=<T>
 * on COM1, then "BENCH-DONE". In Bochs the TSC counts instructions (ticks), so run on 1 CPU,
 * bare and under the hypervisor: (T_hv - T_bare) / N = hypervisor instructions per exit round
 * trip (the guest instruction itself, 1 tick bare, is in both). Each loop runs once untimed first
 * (warm-up), then timed. Interrupts stay disabled throughout. */
typedef unsigned int u32;
typedef unsigned long long u64;

#define COM1 0x3f8

static inline void outb(unsigned short port, unsigned char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (unsigned char)c);
}

static void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void putu(u64 v)
{
	char d[24];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc(d[--n]);
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* Every loop: 3 instructions of loop overhead + the measured instruction(s). */
static u64 loop_nop(u32 n)
{
	u64 t0 = rdtsc();
	__asm__ volatile("1: xor %%eax, %%eax; nop; dec %0; jnz 1b" : "+r"(n) : : "eax", "memory");
	return rdtsc() - t0;
}

static u64 loop_cpuid(u32 n)
{
	u64 t0 = rdtsc();
	__asm__ volatile("1: xor %%eax, %%eax; cpuid; dec %%esi; jnz 1b"
			 : "+S"(n) : : "eax", "ebx", "ecx", "edx", "memory");
	return rdtsc() - t0;
}

static u64 loop_rdmsr(u32 n, u32 msr)
{
	u64 t0 = rdtsc();
	__asm__ volatile("1: mov %1, %%ecx; rdmsr; dec %0; jnz 1b"
			 : "+S"(n) : "D"(msr) : "eax", "ecx", "edx", "memory");
	return rdtsc() - t0;
}

/* WRMSR of the value the MSR already has (4 instructions of overhead). */
static u64 loop_wrmsr(u32 n, u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	u64 t0 = rdtsc();
	__asm__ volatile("1: mov %1, %%ecx; mov %2, %%eax; wrmsr; dec %0; jnz 1b"
			 : "+S"(n) : "D"(msr), "b"(lo), "d"(hi) : "eax", "ecx", "memory");
	return rdtsc() - t0;
}

static u64 loop_inb(u32 n, u32 port)
{
	u64 t0 = rdtsc();
	__asm__ volatile("1: mov %1, %%edx; inb %%dx, %%al; dec %0; jnz 1b"
			 : "+S"(n) : "D"(port) : "eax", "edx", "memory");
	return rdtsc() - t0;
}

static void report(const char *name, u32 n, u64 ticks)
{
	puts("BENCH ");
	puts(name);
	puts(" n=");
	putu(n);
	puts(" ticks=");
	putu(ticks);
	puts("\n");
}

#define N 100000u
#define N_WRMSR 100u  /* a write to an MTRR may rebuild the EPT: slow */
#define MSR_MTRR_DEF_TYPE 0x2ff
#define PORT_KBC_STATUS 0x64

/* 115200 8N1 without FIFO: bare, nobody else has set the UART up (under the hypervisor this
 * repeats its own settings) */
static void serial_init(void)
{
	outb(COM1 + 1, 0);    /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 1);    /* divisor 1 = 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void bench_main(void)
{
	serial_init();
	puts("BENCH-START\n");
	loop_nop(100); report("nop", N, loop_nop(N));
	loop_cpuid(100); report("cpuid", N, loop_cpuid(N));
	loop_rdmsr(100, MSR_MTRR_DEF_TYPE); report("rdmsr-0x2ff", N, loop_rdmsr(N, MSR_MTRR_DEF_TYPE));
	loop_inb(100, PORT_KBC_STATUS); report("inb-0x64", N, loop_inb(N, PORT_KBC_STATUS));
	loop_wrmsr(2, MSR_MTRR_DEF_TYPE);
	report("wrmsr-0x2ff", N_WRMSR, loop_wrmsr(N_WRMSR, MSR_MTRR_DEF_TYPE));
	puts("BENCH-DONE\n");
}
