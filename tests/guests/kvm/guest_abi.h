/* guest_abi.h -- what the real-mode guest code (guest.S) and kvmtest agree on: where the code
 * runs, the ports it reports on and the values it writes and expects. */
#ifndef KVMTEST_GUEST_ABI_H
#define KVMTEST_GUEST_ABI_H

#define GUEST_RAM_SIZE 0x10000    /* guest RAM: GPA 0 .. 64 KiB, one memory slot */
#define GUEST_CODE_GPA 0x1000     /* guest.S is copied here; CS = 0, IP = its offset */
#define GUEST_MMIO_SEG 0x1000     /* ES for the MMIO accesses: GPA 0x10000, just past the RAM */
#define GUEST_MMIO_GPA (GUEST_MMIO_SEG * 16)

/* the suite (guest_suite): ESI = number of CPUID(0) iterations on entry */
#define PORT_CPUID_DONE 0x10      /* OUT AL: after the CPUID loop (EBX/EDX/ECX hold leaf 0) */
#define PORT_OUT8 0x11            /* OUT AL = OUT8_VALUE */
#define OUT8_VALUE 0x5a
#define PORT_IN16 0x12            /* IN AX: kvmtest answers IN16_VALUE */
#define IN16_VALUE 0xbeef
#define PORT_ECHO16 0x13          /* OUT AX = the value read + 1 */
#define MMIO_WRITE_VALUE 0x12345678 /* MOV dword to GUEST_MMIO_GPA */
#define MMIO_READ_OFFSET 4        /* MOV dword from GUEST_MMIO_GPA + 4: kvmtest answers */
#define MMIO_READ_VALUE 0xcafef00d  /* ... this */
#define PORT_ECHO32 0x14          /* OUT EAX = the value read by MMIO */
/* then HLT */

/* the benchmark (guest_bench): ESI = N; RDTSC, N x CPUID(0), RDTSC, then OUT AL to
 * PORT_BENCH_DONE with EBP:EDI = first TSC, EDX:EAX = second TSC, ESI = 0; then HLT */
#define PORT_BENCH_DONE 0x20

#endif
