/* Segment descriptors and the VMCS access-rights layout (SDM Vol. 3 3.4.5,
 * 26.4.1 Table 26-2). */
#ifndef XMHF_X86_SEGMENT_H
#define XMHF_X86_SEGMENT_H

#include <xmhf/types.h>

#define AR_TYPE_MASK 0xfu
#define AR_S BIT(4)
#define AR_DPL_SHIFT 5
#define AR_P BIT(7)
#define AR_L BIT(13)
#define AR_DB BIT(14)
#define AR_G BIT(15)
#define AR_UNUSABLE BIT(16)

/* Access rights of common segments */
#define AR_DATA_RW_ACCESSED 0x93
#define AR_CODE_RX_ACCESSED 0x9b
#define AR_LDT 0x82
#define AR_TSS_BUSY 0x8b /* present, type 11: busy 32/64-bit TSS */
#define AR_V86 0xf3      /* 27.3.1.2: every segment in virtual-8086 mode */

/* System descriptor types (Table 3-2) */
#define DESC_TSS16_AVAIL 1
#define DESC_LDT 2
#define DESC_TSS16_BUSY 3
#define DESC_TSS32_AVAIL 9
#define DESC_TSS32_BUSY 11
#define DESC_TSS_BUSY_BIT 2

/* Type field of code and data segment descriptors (Table 3-1) */
#define SEG_TYPE_ACCESSED BIT(0)
#define SEG_TYPE_WRITABLE BIT(1)   /* data; readable for code */
#define SEG_TYPE_CONFORMING BIT(2) /* code; expand-down for data */
#define SEG_TYPE_CODE BIT(3)

/* Lowest TSS descriptor limits (7.2.2, Table 7-1) */
#define TSS16_MIN_LIMIT 0x2b
#define TSS32_MIN_LIMIT 0x67

/* Fields of a segment descriptor's low 8 bytes (3.4.5): base, limit in
 * bytes (G applied), and the access rights as the VMCS holds them
 * (26.4.1 Table 26-2: bits 8-15 and 20-23 of the high dword). */
static inline u64 desc_base(u64 d) { return ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000); }
static inline u32 desc_ar(u64 d) { return (d >> 40) & 0xf0ff; }
static inline u32 desc_limit(u64 d)
{
	u32 limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	return (d & BIT(55)) ? (limit << 12) | 0xfff : limit;
}

/* Segment registers in the instruction encoding's numbering (Vol. 2
 * 2.1.3 "sreg"), also the order of the VMCS guest segment fields */
enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

#define SEL_RPL 3
#define SEL_TI BIT(2)

#endif
