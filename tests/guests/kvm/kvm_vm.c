/* kvm_vm.c -- the /dev/kvm ioctls kvmtest needs (Documentation/virt/kvm/api.rst). */
#include "kvm_vm.h"
#include "guest_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_API_VERSION_EXPECTED 12 /* the only stable API version */
#define CPUID_MAX_ENTRIES 100
#define X86_RFLAGS_FIXED 0x2      /* bit 1 of RFLAGS reads as 1 */

static int fail(const char *what)
{
	fprintf(stderr, "KVM-ERROR: %s: %s\n", what, strerror(errno));
	return -1;
}

static int get_supported_cpuid(struct kvm_vm *vm)
{
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + CPUID_MAX_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return fail("calloc");
	vm->cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return fail("KVM_GET_SUPPORTED_CPUID");
	return 0;
}

int kvm_vm_create(struct kvm_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	vm->ram = MAP_FAILED;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail("open /dev/kvm");
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION_EXPECTED) {
		fprintf(stderr, "KVM-ERROR: KVM_GET_API_VERSION: %d, not %d\n", version,
			KVM_API_VERSION_EXPECTED);
		return -1;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		fprintf(stderr, "KVM-ERROR: no KVM_CAP_USER_MEMORY\n");
		return -1;
	}
	if (get_supported_cpuid(vm) < 0)
		return -1;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM");
	vm->ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->ram == MAP_FAILED)
		return fail("mmap guest RAM");
	memcpy(vm->ram + GUEST_CODE_GPA, guest_code, (size_t)(guest_code_end - guest_code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_RAM_SIZE,
		.userspace_addr = (uintptr_t)vm->ram,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

int kvm_vcpu_create(struct kvm_vm *vm, int id, struct kvm_vcpu *vcpu)
{
	vcpu->run = MAP_FAILED;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return fail("KVM_CREATE_VCPU");
	int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(*vcpu->run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	vcpu->run_size = (size_t)size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, vm->cpuid) < 0)
		return fail("KVM_SET_CPUID2");
	return 0;
}

int kvm_vcpu_start_at(struct kvm_vcpu *vcpu, const void *entry, uint32_t esi)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.selector = 0;      /* after reset CS is F000 with base FFFF0000 */
	sregs.cs.base = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = {
		.rip = GUEST_CODE_GPA + (uint64_t)((const uint8_t *)entry - guest_code),
		.rflags = X86_RFLAGS_FIXED,
		.rsi = esi,
	};
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

int kvm_vcpu_run(struct kvm_vcpu *vcpu)
{
	int r;
	do
		r = ioctl(vcpu->fd, KVM_RUN, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? fail("KVM_RUN") : (int)vcpu->run->exit_reason;
}

int kvm_vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	return ioctl(vcpu->fd, KVM_GET_REGS, regs) < 0 ? fail("KVM_GET_REGS") : 0;
}

const struct kvm_cpuid_entry2 *kvm_vm_cpuid_entry(const struct kvm_vm *vm, uint32_t leaf)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == leaf && vm->cpuid->entries[i].index == 0)
			return &vm->cpuid->entries[i];
	return NULL;
}

void kvm_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	if (vcpu->run != MAP_FAILED)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->ram != MAP_FAILED)
		munmap(vm->ram, GUEST_RAM_SIZE);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
}
