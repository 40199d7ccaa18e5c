/* kvm_vm.h -- a thin layer over /dev/kvm's ioctls for kvmtest: one VM with 64 KiB of RAM holding
 * guest.S, and its vCPUs, started in real mode at one of guest.S's entry points. */
#ifndef KVMTEST_KVM_VM_H
#define KVMTEST_KVM_VM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_vm {
	int kvm_fd;               /* /dev/kvm */
	int vm_fd;
	uint8_t *ram;             /* GUEST_RAM_SIZE bytes at GPA 0 */
	struct kvm_cpuid2 *cpuid; /* what KVM_GET_SUPPORTED_CPUID gave, set on every vCPU */
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;      /* the shared kvm_run page(s) */
	size_t run_size;
};

/* Each returns 0 on success, else -1 after printing "KVM-ERROR: what: strerror" on stderr. */
int kvm_vm_create(struct kvm_vm *vm);
int kvm_vcpu_create(struct kvm_vm *vm, int id, struct kvm_vcpu *vcpu);
/* real mode, CS = 0, IP = GUEST_CODE_GPA + offset of entry in guest.S, ESI = esi */
int kvm_vcpu_start_at(struct kvm_vcpu *vcpu, const void *entry, uint32_t esi);
/* KVM_RUN until it returns other than EINTR: the exit reason, or -1 */
int kvm_vcpu_run(struct kvm_vcpu *vcpu);
int kvm_vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void kvm_vcpu_destroy(struct kvm_vcpu *vcpu);
void kvm_vm_destroy(struct kvm_vm *vm);
/* the entry for CPUID leaf (subleaf 0) in vm->cpuid, or NULL */
const struct kvm_cpuid_entry2 *kvm_vm_cpuid_entry(const struct kvm_vm *vm, uint32_t leaf);

/* guest.S */
extern const uint8_t guest_code[], guest_suite[], guest_bench[], guest_code_end[];

#endif
