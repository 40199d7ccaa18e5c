/* Constants shared by assembly and C; C code checks them with
 * static assertions (cpu_tables.c). */
#ifndef RUNTIME_ASM_OFFSETS_H
#define RUNTIME_ASM_OFFSETS_H

/* AP trampoline page: conventional memory, free after the BIOS hands over. */
#define TRAMPOLINE_PA 0x8000
/* offsetof(struct percpu_pages, stack) + STACK_SIZE for CPU 0 */
#define PERCPU_PAGES_STACK_TOP_0 (4096 * 4 + 16384)

/* VMCS_HOST_RSP of vmcs_fields.h */
#define VMCS_HOST_RSP_ENCODING 0x6c14

/* offsetof(struct percpu, requests) and REQUESTS_BEFORE_ENTRY */
#define PERCPU_REQUESTS 20
#define PERCPU_REQUESTS_BEFORE_ENTRY 61

#endif
