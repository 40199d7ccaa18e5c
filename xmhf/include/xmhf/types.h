/* Basic types and the address-space types.
 * Each address space is its own single-member struct so that passing a
 * guest-physical address where a host-physical one is expected is a
 * compile error. Convert only through named walkers (EPT01, EPT12, ...). */
#ifndef XMHF_TYPES_H
#define XMHF_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64; /* matches %llx */
typedef long long i64;

typedef struct { u64 v; } hpa_t;    /* host physical */
typedef struct { u64 v; } l1_gpa_t; /* guest physical of the rich guest (L1) */
typedef struct { u64 v; } l2_gpa_t; /* guest physical of a nested guest (L2) */
typedef struct { u64 v; } gva_t;    /* guest virtual */

static inline hpa_t hpa(u64 v) { return (hpa_t){ v }; }
static inline l1_gpa_t l1_gpa(u64 v) { return (l1_gpa_t){ v }; }
static inline l2_gpa_t l2_gpa(u64 v) { return (l2_gpa_t){ v }; }
static inline gva_t gva(u64 v) { return (gva_t){ v }; }

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a) - 1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1ull << (n))

#define PACKED __attribute__((packed))
#define NORETURN __attribute__((noreturn))
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define UNUSED __attribute__((unused))

#endif
