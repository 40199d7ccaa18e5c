/* tsc.c -- static test program for the Linux bench guest (no libc): prints
 * "BENCH-TSC <rdtsc>" on stdout (= ttyS0 under the guest's /init). In Bochs the TSC counts
 * Bochs ticks since power-on; the hypervisor does not offset it. Built by linux-boot.sh. */
static long sys_write(int fd, const void *buf, unsigned long n)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(1L), "D"((long)fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory");
	return ret;
}

static void sys_exit(int code)
{
	__asm__ volatile("syscall" : : "a"(60L), "D"((long)code) : "rcx", "r11", "memory");
	for (;;)
		;
}

void _start(void)
{
	unsigned lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	unsigned long long t = ((unsigned long long)hi << 32) | lo;
	char buf[48] = "BENCH-TSC ", digits[24];
	int n = 0, i = 10;
	do { digits[n++] = '0' + t % 10; t /= 10; } while (t);
	while (n)
		buf[i++] = digits[--n];
	buf[i++] = '\n';
	sys_write(1, buf, i);
	sys_exit(0);
}
