/* Exception vectors (SDM Vol. 3 Table 6-1) and the event-type field shared
 * by the VM-entry interruption information, VM-exit interruption
 * information and IDT-vectoring information (SDM Vol. 3 26.8.3, 27.2.2-3). */
#ifndef XMHF_X86_EVENTS_H
#define XMHF_X86_EVENTS_H

#include <xmhf/types.h>

#define VECTOR_DE 0
#define VECTOR_DB 1
#define VECTOR_NMI 2
#define VECTOR_BP 3
#define VECTOR_UD 6
#define VECTOR_NM 7
#define VECTOR_DF 8
#define VECTOR_TS 10
#define VECTOR_NP 11
#define VECTOR_SS 12
#define VECTOR_GP 13
#define VECTOR_PF 14

#define VECTOR_AC 17
#define VECTOR_MC 18
#define VECTOR_CP 21

/* Page-fault error code bits (4.7, Figure 4-12). */
#define PFEC_P BIT(0)
#define PFEC_W BIT(1)
#define PFEC_U BIT(2)
#define PFEC_RSVD BIT(3)
#define PFEC_I BIT(4)

#define INTR_INFO_VECTOR(info) ((info) & 0xff)
#define INTR_INFO_TYPE(info) (((info) >> 8) & 7)
#define INTR_INFO_TYPE_VECTOR 0x7ffu /* type and vector */
#define INTR_INFO_DELIVER_ERROR_CODE BIT(11)
#define INTR_INFO_NMI_UNBLOCKED_BY_IRET BIT(12) /* exit interruption information */
#define INTR_INFO_VALID BIT(31)

#define EVENT_EXT_INTR 0
#define EVENT_RESERVED 1
#define EVENT_NMI 2
#define EVENT_HW_EXCEPTION 3
#define EVENT_SW_INT 4
#define EVENT_PRIV_SW_EXCEPTION 5
#define EVENT_SW_EXCEPTION 6
#define EVENT_OTHER 7
#define INTR_TYPE_NMI (EVENT_NMI << 8)
#define INTR_TYPE_HW_EXCEPTION (EVENT_HW_EXCEPTION << 8)

#endif
