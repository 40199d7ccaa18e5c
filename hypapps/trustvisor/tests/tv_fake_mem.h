/* A fake guest address space for the TrustVisor tests: [base, base + size) backed by a heap
 * buffer, everything else unreachable; the hooks count calls and can fail the n-th one. */
#ifndef TV_FAKE_MEM_H
#define TV_FAKE_MEM_H

#include "unit.h"
#include "tv_guest.h"

struct fake_as {
	u64 base, size;
	u8 *mem;
	u32 reads, writes;
	u32 fail_write; /* fail the write with this number (1 = the first), 0 = never */
};

static inline bool fake_as_range(const struct fake_as *as, gva_t va, u64 len)
{
	return va.v >= as->base && len <= as->size && va.v - as->base <= as->size - len;
}

static inline bool fake_as_read(void *ctx, gva_t va, void *buf, u64 len)
{
	struct fake_as *as = ctx;
	as->reads++;
	if (!fake_as_range(as, va, len))
		return false;
	memcpy(buf, as->mem + (va.v - as->base), len);
	return true;
}

static inline bool fake_as_write(void *ctx, gva_t va, const void *buf, u64 len)
{
	struct fake_as *as = ctx;
	if (++as->writes == as->fail_write || !fake_as_range(as, va, len))
		return false;
	memcpy(as->mem + (va.v - as->base), buf, len);
	return true;
}

static inline void fake_as_init(struct fake_as *as, u64 base, u64 size)
{
	free(as->mem);
	*as = (struct fake_as){ .base = base, .size = size, .mem = calloc(1, size) };
	assert_non_null(as->mem);
}

static inline struct tv_guest_mem fake_as_mem(struct fake_as *as)
{
	return (struct tv_guest_mem){ .read = fake_as_read, .write = fake_as_write, .ctx = as };
}

static inline u8 *fake_as_ptr(struct fake_as *as, u64 va)
{
	assert_true(fake_as_range(as, gva(va), 1));
	return as->mem + (va - as->base);
}

#endif
