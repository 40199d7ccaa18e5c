/* The two TSS formats a task switch reads and writes (SDM Vol. 3 7.2.1
 * Figure 7-2, 32-bit; 7.6 Figure 7-11, 16-bit), and a task's dynamic state
 * as either holds it. Used by task_switch.c. */
#ifndef RUNTIME_TASK_SWITCH_TSS_H
#define RUNTIME_TASK_SWITCH_TSS_H

#include <xmhf/types.h>
#include <xmhf/x86/segment.h>

struct tss32 {
	u16 link, r0;
	u32 esp0, ss0, esp1, ss1, esp2, ss2;
	u32 cr3, eip, eflags;
	u32 gpr[8]; /* EAX ECX EDX EBX ESP EBP ESI EDI: the SDM's register order */
	struct { u16 sel, reserved; } seg[6]; /* ES CS SS DS FS GS: the VMCS order */
	u16 ldt, r1;
	u16 trap, iomap;
} PACKED;
_Static_assert(sizeof(struct tss32) == TSS32_MIN_LIMIT + 1, "32-bit TSS layout");

struct tss16 {
	u16 link;
	u16 sp0, ss0, sp1, ss1, sp2, ss2;
	u16 ip, flags;
	u16 gpr[8];
	u16 seg[4]; /* ES CS SS DS */
	u16 ldt;
} PACKED;
_Static_assert(sizeof(struct tss16) == TSS16_MIN_LIMIT + 1, "16-bit TSS layout");

union tss {
	struct tss32 t32;
	struct tss16 t16;
	u8 bytes[sizeof(struct tss32)];
};

#define TSS_GPR_ESP 4

/* A task's dynamic state, in either format. */
struct task_image {
	u32 eip, eflags;
	u32 gpr[8];
	u16 seg[6]; /* ES CS SS DS FS GS */
	u16 ldt;
	u32 cr3;    /* 32-bit TSS only */
	bool trap;  /* the T flag (18.3.1.5), 32-bit TSS only */
};

/* A TSS descriptor type (Table 3-2): 9/11 are 32-bit ("wide"), 1/3 16-bit. */
static inline bool tss_type_wide(u32 type) { return type & 8; }
/* The bytes a switch reads from a TSS: its limit must be at least this - 1. */
static inline u32 tss_size(bool wide) { return wide ? sizeof(struct tss32) : sizeof(struct tss16); }
/* [start, end): the fields a switch saves into the old TSS (EIP .. GS, or IP .. DS). */
static inline u32 tss_dynamic_start(bool wide)
{
	return wide ? __builtin_offsetof(struct tss32, eip) : __builtin_offsetof(struct tss16, ip);
}
static inline u32 tss_dynamic_end(bool wide)
{
	return wide ? __builtin_offsetof(struct tss32, ldt) : __builtin_offsetof(struct tss16, ldt);
}

/* The new task's state from its TSS. */
struct task_image tss_read_image(const union tss *tss, bool wide);
/* The old task's EIP, EFLAGS, GPRs and selectors into its TSS (the rest of
 * *tss unchanged). */
void tss_store_image(union tss *tss, bool wide, const struct task_image *img);

#endif
