/* TrustVisor's guest ABI as XMHF64 implements it on amd64 (see README.md): hypercall numbers,
 * the registration structures (one layout for 32- and 64-bit callers), the detection CPUID leaf,
 * and the two instructions a caller uses. Needs only <stdint.h>. */
#ifndef TV_ABI_H
#define TV_ABI_H

#include <stdint.h>

/* Hypercalls: VMCALL with RAX = number (+ TV_VMCALL_OFFSET inside an L2 guest); result in RAX,
 * 0 = success. */
#define TV_HC_REG 1     /* RCX = &tv_pal_sections, RSI = &tv_pal_params, RDI = entry */
#define TV_HC_UNREG 2   /* RCX = entry */
#define TV_HC_TEST 255  /* RCX = any value; the hypervisor logs it */

/* Programs for an L2 guest (the nested issue) are built with -DTV_L2. */
#ifdef TV_L2
#define TV_VMCALL_OFFSET 0x4c415000u
#else
#define TV_VMCALL_OFFSET 0u
#endif

/* Detection: CPUID EAX = TV_CPUID_LEAF, ECX = TV_VMCALL_OFFSET. */
#define TV_CPUID_LEAF 0x7a567254u      /* "TrVz" */
#define TV_CPUID_SIGNATURE 0x7a767274u /* EAX answer when TrustVisor is present */
#define TV_CPUID_NO_PAL 0xffffffffu    /* EBX answer outside a PAL (else the PAL's id) */
#define TV_CPUID_ECX_64BIT 0x1u        /* the caller runs in 64-bit mode */
#define TV_CPUID_ECX_EPT12 0x2u        /* the caller is an L2 guest with EPT12 */

/* A PAL returns to this address; the hypervisor maps it only in the PAL's page tables. */
#define TV_PAL_SENTINEL_RETURN 0x4u

#define TV_PAL_SECTION_CODE 1
#define TV_PAL_SECTION_DATA 2
#define TV_PAL_SECTION_PARAM 3
#define TV_PAL_SECTION_STACK 4
#define TV_PAL_SECTION_SHARED_CODE 5
#define TV_MAX_SECTIONS 10

#define TV_PAL_PM_INTEGER 1
#define TV_PAL_PM_POINTER 2 /* size: machine words (8 bytes in 64-bit mode, 4 in 32-bit) */
#define TV_MAX_PARAMS 10

/* The hypervisor starts the parameter area this far into the PARAM section and writes there
 * u64 count, then per parameter {u64 type, u64 size in bytes, u64 value} and the pointed-to
 * data of each POINTER. */
#define TV_PARAM_AREA_OFFSET 0x10u
#define TV_PARAM_AREA_HEADER 8u
#define TV_PARAM_AREA_ENTRY 24u

struct tv_pal_section {
	uint32_t type;
	uint32_t pages;
	uint64_t start; /* 4 KiB aligned guest-virtual address */
};

struct tv_pal_sections {
	uint32_t count;
	uint32_t pad;
	struct tv_pal_section sections[TV_MAX_SECTIONS];
};

struct tv_pal_param {
	uint32_t type;
	uint32_t pad;
	uint64_t size; /* POINTER: words; INTEGER: ignored */
};

struct tv_pal_params {
	uint32_t count;
	uint32_t pad;
	struct tv_pal_param params[TV_MAX_PARAMS];
};

/* The same layout for 32- and 64-bit callers (i386 aligns uint64_t to 4 only). */
_Static_assert(sizeof(struct tv_pal_section) == 16, "tv_pal_section layout");
_Static_assert(__builtin_offsetof(struct tv_pal_sections, sections) == 8, "tv_pal_sections layout");
_Static_assert(sizeof(struct tv_pal_sections) == 168, "tv_pal_sections layout");
_Static_assert(sizeof(struct tv_pal_param) == 16, "tv_pal_param layout");
_Static_assert(__builtin_offsetof(struct tv_pal_params, params) == 8, "tv_pal_params layout");
_Static_assert(sizeof(struct tv_pal_params) == 168, "tv_pal_params layout");

struct tv_cpuid {
	uint32_t eax, ebx, ecx, edx;
};

/* always_inline: PAL code calls this, and PAL code may call nothing outside its section. */
static inline __attribute__((always_inline)) struct tv_cpuid tv_cpuid(void)
{
	struct tv_cpuid r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(TV_CPUID_LEAF), "c"(TV_VMCALL_OFFSET));
	return r;
}

static inline __attribute__((always_inline)) int tv_present(struct tv_cpuid r)
{
	return r.eax == TV_CPUID_SIGNATURE;
}

/* Outside VMX non-root operation VMCALL is #UD (SIGILL): call tv_present() first. */
static inline uintptr_t tv_vmcall(uintptr_t nr, uintptr_t rcx, uintptr_t rsi, uintptr_t rdi)
{
	uintptr_t ret;
	__asm__ volatile("vmcall"
			 : "=a"(ret), "+c"(rcx), "+S"(rsi), "+D"(rdi)
			 : "a"(nr + TV_VMCALL_OFFSET)
			 : "memory");
	return ret;
}

#endif
