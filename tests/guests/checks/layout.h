/* Fixed low-memory addresses shared by boot.S (AP trampoline) and C. */
#ifndef LAYOUT_H
#define LAYOUT_H

#define TRAMP_BASE   0x9000   /* real-mode AP entry: SIPI vector 0x09 -> CS:IP = 0900:0000 */
#define SIPI_VECTOR  (TRAMP_BASE >> 12)
#define AP_NEXT      0x9800   /* 16-bit: next free slot index (lock xadd) */
#define AP_COUNT     0x9804   /* 32-bit: APs that ran the trampoline (lock add) */
#define AP_SLOTS     0x9810   /* 16 bytes per AP: +0 EDX at entry, +4 CS, +8 CPUID.1:ECX,
                               * +14 IP pushed by call */
#define AP_MAX_SLOTS 64       /* slots end at 0x9c10, below the EBDA */
#define PM32_TRAMP_BASE 0xa000 /* apic.c: APs started into 32-bit protected mode, SIPI vector 0x0a */

#endif
