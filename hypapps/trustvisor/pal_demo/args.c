/* Deterministic test inputs (args.h). */
#include "args.h"

/* SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014). */
void rng_seed(struct rng *rng, uint64_t seed)
{
	rng->state = seed;
}

uint64_t rng_next(struct rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void gen_words(struct rng *rng, uintptr_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uintptr_t)rng_next(rng);
}

void gen_sizes_5(struct rng *rng, uintptr_t sizes[5])
{
	for (int i = 0; i < 5; i++)
		sizes[i] = rng_next(rng) % (PAL_5_PTR_MAX_WORDS + 1);
}

static struct tv_pal_param integer(void)
{
	return (struct tv_pal_param){ .type = TV_PAL_PM_INTEGER };
}

static struct tv_pal_param pointer(uint64_t words)
{
	return (struct tv_pal_param){ .type = TV_PAL_PM_POINTER, .size = words };
}

struct tv_pal_params params_my_pal(void)
{
	return (struct tv_pal_params){ .count = 2, .params = { integer(), pointer(1) } };
}

struct tv_pal_params params_10_int(void)
{
	struct tv_pal_params p = { .count = 10 };
	for (int i = 0; i < 10; i++)
		p.params[i] = integer();
	return p;
}

struct tv_pal_params params_10_ptr(void)
{
	struct tv_pal_params p = { .count = 10 };
	for (int i = 0; i < 10; i++)
		p.params[i] = pointer(1);
	return p;
}

struct tv_pal_params params_5_ptr(const uintptr_t sizes[5])
{
	struct tv_pal_params p = { .count = 10 };
	for (int i = 0; i < 5; i++) {
		p.params[2 * i] = integer();
		p.params[2 * i + 1] = pointer(sizes[i]);
	}
	return p;
}
