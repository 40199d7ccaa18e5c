/* Instructions the hypervisor must make look absent or harmless: VMX instructions, INVD, CR4.SMXE.
 * SDM = Intel SDM (2016-2022 editions); "xmhf" = running as the guest of our hypervisor. */
#include "kernel.h"

#define CR4_SMXE BIT(14)
#define VEC_UD 6
#define VEC_GP 13

static uint64_t vmx_mem;                      /* m64 operand (VMPTRST, VMCLEAR, VMXON) */
static uint64_t inv_desc[2];                  /* m128 descriptor (INVEPT, INVVPID) */

static void do_vmread(void *a) { (void)a; __asm__ volatile("vmread %%eax, %%ebx" : : "a"(0x6800) : "ebx"); }
static void do_vmwrite(void *a) { (void)a; __asm__ volatile("vmwrite %%ebx, %%eax" : : "a"(0x6800), "b"(0)); }
static void do_vmptrst(void *a) { (void)a; __asm__ volatile("vmptrst %0" : "=m"(vmx_mem)); }
static void do_vmclear(void *a) { (void)a; __asm__ volatile("vmclear %0" : : "m"(vmx_mem)); }
static void do_vmlaunch(void *a) { (void)a; __asm__ volatile("vmlaunch"); }
static void do_vmresume(void *a) { (void)a; __asm__ volatile("vmresume"); }
static void do_vmxoff(void *a) { (void)a; __asm__ volatile("vmxoff"); }
static void do_vmxon(void *a) { (void)a; __asm__ volatile("vmxon %0" : : "m"(vmx_mem)); }
static void do_invept(void *a) { (void)a; __asm__ volatile("invept %0, %%eax" : : "m"(inv_desc), "a"(2)); }
static void do_invvpid(void *a) { (void)a; __asm__ volatile("invvpid %0, %%eax" : : "m"(inv_desc), "a"(2)); }

/* Outside VMX operation every VMX instruction raises #UD (SDM Vol.3C 30.3 "VMX Instructions":
 * "IF (not in VMX operation) ... THEN #UD"; VMXON with CR4.VMXE = 0 likewise). The guest of
 * xmhf is never in VMX operation (CPUID.1:ECX.VMX = 0): the instructions exit unconditionally
 * (Vol.3C 25.1.2) and the hypervisor must inject #UD. Bare Bochs: CR4.VMXE = 0, same result. */
void check_vmx_insn_ud(void)
{
    static const struct { const char *name; void (*fn)(void *); } t[] = {
        { "VMREAD", do_vmread }, { "VMWRITE", do_vmwrite }, { "VMPTRST", do_vmptrst },
        { "VMCLEAR", do_vmclear }, { "VMLAUNCH", do_vmlaunch }, { "VMRESUME", do_vmresume },
        { "VMXOFF", do_vmxoff }, { "VMXON", do_vmxon }, { "INVEPT", do_invept },
        { "INVVPID", do_invvpid },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        int v = try_call(t[i].fn, NULL);
        if (v != VEC_UD)
            fail("%s: %s, want #UD", t[i].name, v < 0 ? "no fault" : v == VEC_GP ? "#GP" : "other fault");
    }
}

/* INVD (SDM Vol.2A INVD) is legal at CPL 0; it always exits under VMX (Vol.3C 25.1.2) and xmhf
 * performs WBINVD instead, so no written data is lost and the guest goes on. Bochs has no
 * caches: bare INVD loses nothing either. */
static volatile uint32_t invd_marker;
static void do_invd(void *a) { (void)a; invd_marker = 0x1d5a17e5; __asm__ volatile("invd" : : : "memory"); }

void check_invd_survives(void)
{
    int v = try_call(do_invd, NULL);
    if (v >= 0)
        fail("INVD faulted with vector %d", v);
    else if (invd_marker != 0x1d5a17e5)
        fail("data written before INVD lost: %x", invd_marker);
}

/* CR4.SMXE[14] is reserved unless CPUID.1:ECX.SMX[6] = 1: MOV to CR4 setting it raises #GP(0)
 * (SDM Vol.3A 2.5 "CR4.SMXE"; Vol.2B "MOV - Move to/from Control Registers"). xmhf hides SMX,
 * so it must inject #GP; bare Bochs (no SMX in CPUID) faults the same way. */
static void do_write_cr4(void *a) { write_cr4(*(uint32_t *)a); }

void check_cr4_smxe_gp(void)
{
    uint32_t cr4 = read_cr4(), want = cr4 | CR4_SMXE;
    bool smx = cpuid(1, 0).ecx & BIT(6);
    int v = try_call(do_write_cr4, &want);
    uint32_t after = read_cr4();
    write_cr4(cr4);
    if (g_expect == EXPECT_XMHF && smx)
        fail("CPUID.1:ECX.SMX=1 under xmhf");
    if (!smx && v != VEC_GP)
        fail("MOV CR4 with SMXE: %s, want #GP (CR4 after: %x)", v < 0 ? "no fault" : "other fault", after);
    if (smx) {
        if (v >= 0)
            fail("SMX in CPUID but MOV CR4 with SMXE faulted (vector %d)", v);
        note("SMX present: SMXE accepted");
    }
}
