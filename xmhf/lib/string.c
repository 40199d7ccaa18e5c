/* Memory and string functions for the freestanding hypervisor. */
#include <xmhf/string.h>

/* Keep gcc from turning these loops back into calls to themselves. */
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

/* REP MOVSB/STOSB: one instruction for the whole range (fast strings),
 * which matters for zeroing the hypervisor's megabytes of .bss. */
void *XMHF_LIBC(memcpy)(void *dst, const void *src, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

NO_LIBCALLS void *XMHF_LIBC(memmove)(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if ((uintptr_t)d - (uintptr_t)s >= n)
		return XMHF_LIBC(memcpy)(dst, src, n);
	/* dst overlaps the tail of src: copy backwards. */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *XMHF_LIBC(memset)(void *dst, int c, size_t n)
{
	void *d = dst;
	u64 pattern = 0x0101010101010101ull * (u8)c;
	size_t words = n / 8, bytes = n % 8;
	/* 8 bytes an iteration for the bulk (the .bss is megabytes) */
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(pattern) : "memory");
	return dst;
}

NO_LIBCALLS int XMHF_LIBC(memcmp)(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

NO_LIBCALLS size_t XMHF_LIBC(strlen)(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

NO_LIBCALLS int XMHF_LIBC(strncmp)(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++)
		if (*a != *b || !*a)
			return (u8)*a - (u8)*b;
	return 0;
}

int XMHF_LIBC(strcmp)(const char *a, const char *b)
{
	return XMHF_LIBC(strncmp)(a, b, SIZE_MAX);
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = XMHF_LIBC(strlen)(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		XMHF_LIBC(memcpy)(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

bool parse_u64(const char *s, size_t len, u64 *out)
{
	unsigned base = 10;
	u64 v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (!len)
		return false;
	for (; len; len--, s++) {
		unsigned d = (unsigned)digit_value(*s);

		if (d >= base || v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}
