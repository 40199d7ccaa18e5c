/* Deterministic test inputs (args.c): the same seed gives the same arguments on every run and
 * in 32- and 64-bit programs (there truncated to the word size). */
#ifndef ARGS_H
#define ARGS_H

#include <stddef.h>
#include <stdint.h>
#include "tv_abi.h"

#define PAL_5_PTR_MAX_WORDS 99

struct rng {
	uint64_t state;
};

void rng_seed(struct rng *rng, uint64_t seed);
uint64_t rng_next(struct rng *rng);
void gen_words(struct rng *rng, uintptr_t *out, size_t n);
/* five sizes in [0, PAL_5_PTR_MAX_WORDS] */
void gen_sizes_5(struct rng *rng, uintptr_t sizes[5]);

/* The registration parameters of each function of pal_funcs.h. */
struct tv_pal_params params_my_pal(void);
struct tv_pal_params params_10_int(void);
struct tv_pal_params params_10_ptr(void);
struct tv_pal_params params_5_ptr(const uintptr_t sizes[5]);

#endif
