/* Freestanding memory and string functions. gcc may emit calls to memcpy,
 * memmove, memset and memcmp by itself, so those keep their standard names. */
#ifndef XMHF_STRING_H
#define XMHF_STRING_H

#include <xmhf/types.h>

#ifdef XMHF_HOST_TEST
/* Host unit tests: the C library's functions serve all other code, ours are
 * built under a prefix so that test_string.c can test them (see
 * tests/unit/README.md). */
#include <string.h>
#define XMHF_LIBC(name) xmhf_host_##name
#else
#define XMHF_LIBC(name) name
#endif

void *XMHF_LIBC(memcpy)(void *dst, const void *src, size_t n);
void *XMHF_LIBC(memmove)(void *dst, const void *src, size_t n);
void *XMHF_LIBC(memset)(void *dst, int c, size_t n);
int XMHF_LIBC(memcmp)(const void *a, const void *b, size_t n);
size_t XMHF_LIBC(strlen)(const char *s);
int XMHF_LIBC(strcmp)(const char *a, const char *b);
int XMHF_LIBC(strncmp)(const char *a, const char *b, size_t n);

/* Copy at most size-1 bytes of src and NUL-terminate (if size > 0).
 * Returns strlen(src): truncation happened iff the result is >= size. */
size_t strlcpy(char *dst, const char *src, size_t size);

/* Parse exactly len bytes of s as a decimal or 0x/0X hexadecimal number.
 * False (and *out untouched) on empty input, a bad digit or overflow. */
bool parse_u64(const char *s, size_t len, u64 *out);

#endif
