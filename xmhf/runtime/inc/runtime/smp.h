/* Bringing up the hypervisor's APs (SDM Vol. 3 9.4.4.1). */
#ifndef RUNTIME_SMP_H
#define RUNTIME_SMP_H

#include <xmhf/types.h>

/* Start CPUs 1..cpu_count()-1 (registered with cpu_register) with INIT-SIPI-SIPI;
 * each runs ap_main(). Panics if one does not start. */
void smp_start_aps(void);
/* Wait until no CPU is in CPU_STARTED any more; returns how many are in
 * VMX root. */
u32 smp_wait_vmx_root(void);
/* Per-CPU start-up common to the boot CPU and the APs: VMX on. */
void cpu_enter_vmx_root(u32 index);

/* Set when the boot CPU starts the guest: APs then build their VMCS01
 * and wait for the guest's SIPI. */
extern volatile bool guest_go;
/* EPT01 and VMCS01 for this CPU (run on that CPU), then the hypapp's init. */
void guest_prepare_cpu(u32 index);
/* hypapp_init on this CPU with the boot parameters (main.c). */
void hypapp_init_cpu(u32 index);

#endif
