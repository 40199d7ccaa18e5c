/* The caller's side of a PAL: memory, registration, detection (pal_lib.c). */
#ifndef PAL_LIB_H
#define PAL_LIB_H

#include <stddef.h>
#include <stdint.h>
#include "tv_abi.h"

/* Sections, in this order, in one locked mapping: CODE, DATA, STACK, PARAM. */
enum { PAL_CODE_SEC, PAL_DATA_SEC, PAL_STACK_SEC, PAL_PARAM_SEC, PAL_SECTIONS };

struct pal {
	char *mem;
	size_t size;
	void *entry; /* the function's copy in the CODE section */
	int registered;
	struct tv_pal_sections sections;
	struct tv_pal_params params;
};

/* Whether register_pal issues TV_HC_REG, or only prepares the memory (the copy then runs as an
 * ordinary function: test_args --native). */
enum pal_mode { PAL_HYPERCALL, PAL_COPY_ONLY };

/* Maps, locks and fills the sections, copies pal_text to CODE and (PAL_HYPERCALL) registers `fn`
 * (a function of pal_funcs.h) with `params`. NULL, with a message on stderr, on failure. */
struct pal *register_pal(const struct tv_pal_params *params, const void *fn, enum pal_mode mode);
/* TV_HC_UNREG if registered, then frees the memory. Returns the hypercall's result (0 if none). */
uintptr_t unregister_pal(struct pal *pal);

/* Pages of the PARAM section for `params` (the hypervisor's layout, tv_abi.h). */
size_t pal_param_pages(const struct tv_pal_params *params);

/* Exits with status 1 and a message naming `prog` unless TrustVisor answers its CPUID leaf. */
void require_trustvisor(const char *prog);

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif
