/* The hypapp interface (xmhf/hypapp.h) seen from the guest. Under --app test
 * (cmdline app=test, hypapps/test/abi.h): the hypapp's CPUID leaf, its
 * hypercall, and an exception it intercepts. Under --app trustvisor (app=
 * trustvisor, pal_demo/tv_abi.h): its detection CPUID leaf, and the test
 * hypapp's hypercall is an unknown number (error code 1 in EAX, no fault).
 * Otherwise (bare Bochs, --app none) the same instructions get what the SDM
 * says: VMCALL #UD (outside VMX non-root, or no hypercall interface), INT3 #BP. */
#include "kernel.h"
#include "../../../hypapps/test/abi.h"
#include "../../../hypapps/trustvisor/pal_demo/tv_abi.h"

#define TV_UNKNOWN_HYPERCALL 1 /* hypapps/trustvisor/tv_errors.h */

#define VEC_BP 3
#define VEC_UD 6

struct vmcall_op { uint32_t eax, ebx, ecx; };

static void do_vmcall(void *a)
{
    struct vmcall_op *o = a;
    __asm__ volatile("vmcall" : "+a"(o->eax), "+b"(o->ebx), "+c"(o->ecx) : : "memory");
}

static void do_int3(void *a)
{
    uint32_t *eax = a;
    __asm__ volatile("int3" : "+a"(*eax) : : "memory");
}

static int vmcall(uint32_t eax, uint32_t ebx, struct vmcall_op *o)
{
    *o = (struct vmcall_op){ eax, ebx, 0 };
    return try_call(do_vmcall, o);
}

void check_hypapp_test(void)
{
    struct cpuid_regs r = cpuid(TEST_CPUID_LEAF, 0);
    bool signature = r.eax == TEST_CPUID_LEAF && r.ebx == TEST_SIGNATURE_EBX && r.ecx == TEST_SIGNATURE_ECX &&
                     r.edx == TEST_SIGNATURE_EDX;
    struct vmcall_op o;
    int v = vmcall(TEST_HC_ECHO, 0x1234, &o);
    uint32_t eax = 0;
    int bp = try_call(do_int3, &eax);

    struct cpuid_regs tv = cpuid(TV_CPUID_LEAF, 0);
    bool tv_signature = tv.eax == TV_CPUID_SIGNATURE && tv.ebx == TV_CPUID_NO_PAL && tv.ecx == 0 && tv.edx == 0;
    if (tv_signature != g_app_trustvisor)
        fail("CPUID 0x%x = %x %x %x %x, want %s", TV_CPUID_LEAF, tv.eax, tv.ebx, tv.ecx, tv.edx,
             g_app_trustvisor ? "TrustVisor's answer to a 32-bit caller outside a PAL" : "no TrustVisor");
    /* only ECX = 0 from an L1 caller (an L2 caller's ECX = 0x4c415000 is an ordinary CPUID here) */
    static const uint32_t other_ecx[] = { 1, 0x4c415000u };
    for (unsigned i = 0; i < sizeof(other_ecx) / sizeof(other_ecx[0]); i++)
        if ((tv = cpuid(TV_CPUID_LEAF, other_ecx[i])).eax == TV_CPUID_SIGNATURE)
            fail("CPUID 0x%x with ECX %x gives TrustVisor's signature", TV_CPUID_LEAF, other_ecx[i]);

    if (!g_app_test) {
        if (signature)
            fail("CPUID 0x%x gives the test hypapp's signature without it", TEST_CPUID_LEAF);
        if (g_app_trustvisor && (v >= 0 || o.eax != TV_UNKNOWN_HYPERCALL))
            fail("VMCALL 0x%x under TrustVisor: vector %d eax %x, want no fault and %x", TEST_HC_ECHO, v, o.eax,
                 TV_UNKNOWN_HYPERCALL);
        else if (!g_app_trustvisor && v != VEC_UD)
            fail("VMCALL 0x%x: vector %d, want #UD", TEST_HC_ECHO, v);
        if (bp != VEC_BP)
            fail("INT3: vector %d, want #BP", bp);
        return;
    }
    if (!signature)
        fail("CPUID 0x%x = %x %x %x %x, want the test hypapp's signature", TEST_CPUID_LEAF, r.eax, r.ebx, r.ecx,
             r.edx);
    if (v >= 0 || o.eax != 0x1235 || o.ecx != 0)
        fail("VMCALL echo: vector %d eax %x ecx %x, want no fault, 0x1235, cpu 0", v, o.eax, o.ecx);
    if (bp != VEC_BP)
        fail("INT3 before the hypapp intercepts #BP: vector %d, want #BP", bp);
    v = vmcall(TEST_HC_BP_ON, 0, &o);
    eax = 0;
    bp = try_call(do_int3, &eax);
    int off = vmcall(TEST_HC_BP_OFF, 0, &o);
    if (v >= 0 || off >= 0 || bp >= 0 || eax != TEST_BP_SEEN)
        fail("intercepted INT3: vmcalls %d %d, INT3 vector %d eax %x, want no faults and %x", v, off, bp, eax,
             TEST_BP_SEEN);
    if ((bp = try_call(do_int3, &eax)) != VEC_BP)
        fail("INT3 after the hypapp stopped intercepting #BP: vector %d, want #BP", bp);
}
