/* What every unit test includes: CMocka needs these headers before it. */
#ifndef UNIT_H
#define UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

/* A heap copy of exactly len bytes (freed by the caller), so that ASan
 * reports any read past what a parser was given. */
static inline void *exact_copy(const void *src, size_t len)
{
	void *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, src, len);
	return copy;
}

#endif
