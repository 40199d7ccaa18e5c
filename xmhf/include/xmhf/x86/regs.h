/* Architectural register bits, declared once: CR0, CR4, EFER, RFLAGS, DR6
 * (SDM Vol. 3 2.5, 2.2.1, 3.4.3, 18.2.3). */
#ifndef XMHF_X86_REGS_H
#define XMHF_X86_REGS_H

#include <xmhf/types.h>

#define CR0_PE BIT(0)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)
/* bits 15:6, 17, 28:19: writes are ignored (2.5) */
#define CR0_RESERVED_LOW 0x1ffaffc0ull

#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_PGE BIT(7)
#define CR4_OSFXSR BIT(9)
#define CR4_UMIP BIT(11)
#define CR4_LA57 BIT(12)
#define CR4_VMXE BIT(13)
#define CR4_SMXE BIT(14)
#define CR4_PCIDE BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR4_PKE BIT(22)
#define CR4_CET BIT(23)

#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

#define RFLAGS_CF BIT(0)
#define RFLAGS_RESERVED_1 BIT(1)
#define RFLAGS_PF BIT(2)
#define RFLAGS_AF BIT(4)
#define RFLAGS_ZF BIT(6)
#define RFLAGS_SF BIT(7)
#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define RFLAGS_OF BIT(11)
#define RFLAGS_NT BIT(14)
#define RFLAGS_VM BIT(17)
#define RFLAGS_NOT_RESERVED 0x3f7fd7ull /* 3.4.3: every flag that is not reserved */
/* bits 63:22, 15, 5, 3 */
#define RFLAGS_RESERVED_0 (~RFLAGS_NOT_RESERVED)

/* DR6, also the #DB exit qualification's layout (SDM Vol. 3 28.2.1) */
#define DR6_B0_B3 0xfull
#define DR6_BD BIT(13)
#define DR6_BS BIT(14)
#define DR6_BT BIT(15)
#define DR6_RTM BIT(16)
/* DR7: L0-L3, cleared by every task switch (18.2.4) */
#define DR7_LOCAL_ENABLES 0x55ull

#endif
