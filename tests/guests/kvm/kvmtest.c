/* kvmtest -- Linux KVM as a hypervisor under test: VMs through /dev/kvm running guest.S.
 *
 *   kvmtest [--vms V] [--vcpus C] [--loops L]   the suite on V VMs at once (one process each),
 *                                               C vCPUs each (one thread each), every vCPU
 *                                               pinned to its own CPU (modulo the CPU count)
 *   kvmtest --bench N                           N CPUID exits handled by KVM, timed in the guest
 *
 * Prints "KVM: vmI.vcpuJ.NAME: PASS" or "...: FAIL (why)" per check and "KVM-DONE pass=N fail=M";
 * exits 0 iff nothing failed. The checks (guest_abi.h has the values) follow guest.S step by
 * step: cpuid (L CPUID(0)s handled by KVM in the kernel, then leaf 0's registers equal
 * KVM_SET_CPUID2's entry), io_out, io_in (KVM_EXIT_IO both ways, the IN value reaches the guest),
 * mmio_write, mmio_read (KVM_EXIT_MMIO for a GPA outside every memory slot, the read value
 * reaches the guest), hlt (KVM_EXIT_HLT: no in-kernel irqchip, with RIP after the HLT).
 * --bench prints "KVM-BENCH: l2_cpuid ticks=T n=N" (TSC ticks per CPUID, both RDTSCs in the
 * guest) and checks that the loop ran. */
#define _GNU_SOURCE
#include "guest_abi.h"
#include "kvm_vm.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_VCPUS 8
#define DEFAULT_LOOPS 1000

struct shared {                   /* in MAP_SHARED memory: seen by every process and thread */
	int pass, fail;
	int ready;                /* vCPUs waiting at the start line */
};

struct options {
	int vms, vcpus;
	uint32_t loops, bench;
};

struct vcpu_job {
	struct shared *sh;
	const struct options *opt;
	struct kvm_vm *vm;
	struct kvm_vcpu vcpu;
	int vm_index, vcpu_index;
	char name[32];            /* "vmI.vcpuJ" */
};

static void report(struct vcpu_job *job, const char *check, bool ok, const char *why)
{
	__atomic_fetch_add(ok ? &job->sh->pass : &job->sh->fail, 1, __ATOMIC_SEQ_CST);
	if (ok)
		printf("KVM: %s.%s: PASS\n", job->name, check);
	else
		printf("KVM: %s.%s: FAIL (%s)\n", job->name, check, why);
}

/* writes the reason of a failure into why; returns false */
__attribute__((format(printf, 3, 4))) static bool fail_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}
#define WHY(...) fail_why(why, why_len, __VA_ARGS__)

/* the reason of a wrong exit, with what KVM tells about it */
static bool wrong_exit(struct vcpu_job *job, int reason, const char *want, char *why, size_t why_len)
{
	const struct kvm_run *run = job->vcpu.run;
	switch (reason) {
	case -1:
		return WHY("KVM_RUN failed (KVM-ERROR above), want %s", want);
	case KVM_EXIT_FAIL_ENTRY:
		return WHY("KVM_EXIT_FAIL_ENTRY, hardware_entry_failure_reason 0x%llx, want %s",
			   (unsigned long long)run->fail_entry.hardware_entry_failure_reason, want);
	case KVM_EXIT_INTERNAL_ERROR:
		return WHY("KVM_EXIT_INTERNAL_ERROR, suberror %u, want %s", run->internal.suberror, want);
	case KVM_EXIT_IO:
		return WHY("KVM_EXIT_IO at port 0x%x, want %s", run->io.port, want);
	case KVM_EXIT_MMIO:
		return WHY("KVM_EXIT_MMIO at GPA 0x%llx, want %s", (unsigned long long)run->mmio.phys_addr, want);
	default:
		return WHY("exit reason %d, want %s", reason, want);
	}
}

/* KVM_RUN; the exit must be KVM_EXIT_IO in direction dir at port with size bytes, count 1.
 * OUT: its data must equal *value; IN: *value becomes the guest's input. */
static bool run_to_io(struct vcpu_job *job, uint8_t dir, uint16_t port, uint8_t size, uint32_t *value,
		      char *why, size_t why_len)
{
	int reason = kvm_vcpu_run(&job->vcpu);
	struct kvm_run *run = job->vcpu.run;
	if (reason != KVM_EXIT_IO)
		return wrong_exit(job, reason, "KVM_EXIT_IO", why, why_len);
	if (run->io.direction != dir || run->io.port != port || run->io.size != size || run->io.count != 1)
		return WHY("I/O port 0x%x direction %u size %u count %u", run->io.port, run->io.direction,
			   run->io.size, run->io.count);
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t got = 0;
	if (dir == KVM_EXIT_IO_IN) {
		memcpy(data, value, size);
		return true;
	}
	memcpy(&got, data, size);
	return got == *value || WHY("OUT data 0x%x, want 0x%x", got, *value);
}

/* KVM_RUN; the exit must be KVM_EXIT_MMIO of 4 bytes at gpa. Write: its data must equal
 * *value; read: *value becomes the guest's input. */
static bool run_to_mmio(struct vcpu_job *job, bool write, uint64_t gpa, uint32_t *value, char *why,
			size_t why_len)
{
	int reason = kvm_vcpu_run(&job->vcpu);
	struct kvm_run *run = job->vcpu.run;
	if (reason != KVM_EXIT_MMIO)
		return wrong_exit(job, reason, "KVM_EXIT_MMIO", why, why_len);
	if (run->mmio.phys_addr != gpa || run->mmio.len != sizeof(*value) || run->mmio.is_write != write)
		return WHY("MMIO at GPA 0x%llx len %u is_write %u", (unsigned long long)run->mmio.phys_addr,
			   run->mmio.len, run->mmio.is_write);
	uint32_t got;
	if (!write) {
		memcpy(run->mmio.data, value, sizeof(*value));
		return true;
	}
	memcpy(&got, run->mmio.data, sizeof(got));
	return got == *value || WHY("MMIO write data 0x%x, want 0x%x", got, *value);
}

static bool check_cpuid(struct vcpu_job *job, char *why, size_t why_len)
{
	if (kvm_vcpu_start_at(&job->vcpu, guest_suite, job->opt->loops) < 0)
		return WHY("cannot set the vCPU's registers");
	const struct kvm_cpuid_entry2 *leaf0 = kvm_vm_cpuid_entry(job->vm, 0);
	uint32_t al = leaf0 ? (leaf0->eax & 0xff) : 0;
	if (!leaf0)
		return WHY("KVM_GET_SUPPORTED_CPUID has no leaf 0");
	if (!run_to_io(job, KVM_EXIT_IO_OUT, PORT_CPUID_DONE, 1, &al, why, why_len))
		return false;
	struct kvm_regs regs;
	if (kvm_vcpu_get_regs(&job->vcpu, &regs) < 0)
		return WHY("KVM_GET_REGS failed");
	if (regs.rsi != 0)
		return WHY("ESI %llu after the loop of %u", (unsigned long long)regs.rsi, job->opt->loops);
	if (regs.rbx != leaf0->ebx || regs.rdx != leaf0->edx || regs.rcx != leaf0->ecx)
		return WHY("CPUID(0) EBX/EDX/ECX 0x%llx/0x%llx/0x%llx, want 0x%x/0x%x/0x%x",
			   (unsigned long long)regs.rbx, (unsigned long long)regs.rdx,
			   (unsigned long long)regs.rcx, leaf0->ebx, leaf0->edx, leaf0->ecx);
	return true;
}

static bool check_io_out(struct vcpu_job *job, char *why, size_t why_len)
{
	uint32_t v = OUT8_VALUE;
	return run_to_io(job, KVM_EXIT_IO_OUT, PORT_OUT8, 1, &v, why, why_len);
}

static bool check_io_in(struct vcpu_job *job, char *why, size_t why_len)
{
	uint32_t in = IN16_VALUE, echo = (IN16_VALUE + 1) & 0xffff;
	return run_to_io(job, KVM_EXIT_IO_IN, PORT_IN16, 2, &in, why, why_len) &&
	       run_to_io(job, KVM_EXIT_IO_OUT, PORT_ECHO16, 2, &echo, why, why_len);
}

static bool check_mmio_write(struct vcpu_job *job, char *why, size_t why_len)
{
	uint32_t v = MMIO_WRITE_VALUE;
	return run_to_mmio(job, true, GUEST_MMIO_GPA, &v, why, why_len);
}

static bool check_mmio_read(struct vcpu_job *job, char *why, size_t why_len)
{
	uint32_t v = MMIO_READ_VALUE;
	return run_to_mmio(job, false, GUEST_MMIO_GPA + MMIO_READ_OFFSET, &v, why, why_len) &&
	       run_to_io(job, KVM_EXIT_IO_OUT, PORT_ECHO32, 4, &v, why, why_len);
}

static bool check_hlt(struct vcpu_job *job, char *why, size_t why_len)
{
	int reason = kvm_vcpu_run(&job->vcpu);
	if (reason != KVM_EXIT_HLT)
		return wrong_exit(job, reason, "KVM_EXIT_HLT", why, why_len);
	struct kvm_regs regs;
	uint64_t after_hlt = GUEST_CODE_GPA + (uint64_t)(guest_bench - guest_code); /* guest.S */
	if (kvm_vcpu_get_regs(&job->vcpu, &regs) < 0)
		return WHY("KVM_GET_REGS failed");
	return regs.rip == after_hlt || WHY("RIP 0x%llx after HLT, want 0x%llx",
					    (unsigned long long)regs.rip, (unsigned long long)after_hlt);
}

static bool check_bench(struct vcpu_job *job, char *why, size_t why_len)
{
	uint32_t n = job->opt->bench;
	if (kvm_vcpu_start_at(&job->vcpu, guest_bench, n) < 0)
		return WHY("cannot set the vCPU's registers");
	int reason = kvm_vcpu_run(&job->vcpu);
	struct kvm_regs regs;
	if (reason != KVM_EXIT_IO || job->vcpu.run->io.port != PORT_BENCH_DONE)
		return wrong_exit(job, reason, "KVM_EXIT_IO at the end of the loop", why, why_len);
	if (kvm_vcpu_get_regs(&job->vcpu, &regs) < 0)
		return WHY("KVM_GET_REGS failed");
	uint64_t t0 = (regs.rbp & 0xffffffff) << 32 | (regs.rdi & 0xffffffff);
	uint64_t t1 = (regs.rdx & 0xffffffff) << 32 | (regs.rax & 0xffffffff);
	if (regs.rsi != 0 || t1 <= t0)
		return WHY("ESI %llu, TSC delta %lld", (unsigned long long)regs.rsi, (long long)(t1 - t0));
	printf("KVM-BENCH: l2_cpuid ticks=%llu n=%u\n", (unsigned long long)((t1 - t0) / n), n);
	reason = kvm_vcpu_run(&job->vcpu);
	return reason == KVM_EXIT_HLT || wrong_exit(job, reason, "KVM_EXIT_HLT", why, why_len);
}

struct check {
	const char *name;
	bool (*run)(struct vcpu_job *job, char *why, size_t why_len);
};

/* in guest.S's order: each one's exits follow the previous one's */
static const struct check suite[] = {
	{"cpuid", check_cpuid},   {"io_out", check_io_out},       {"io_in", check_io_in},
	{"mmio_write", check_mmio_write}, {"mmio_read", check_mmio_read}, {"hlt", check_hlt},
};
static const struct check bench[] = {{"bench", check_bench}};

/* every vCPU of every VM waits here, so that they all run at once */
static void start_line(struct vcpu_job *job)
{
	int all = job->opt->vms * job->opt->vcpus;
	__atomic_fetch_add(&job->sh->ready, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&job->sh->ready, __ATOMIC_SEQ_CST) < all)
		sched_yield();
}

static void pin_to_cpu(int index)
{
	cpu_set_t set;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	CPU_ZERO(&set);
	CPU_SET(ncpus > 0 ? index % ncpus : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);   /* a failure only loses the concurrency */
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *job = arg;
	const struct check *checks = job->opt->bench ? bench : suite;
	size_t n = job->opt->bench ? sizeof(bench) / sizeof(bench[0]) : sizeof(suite) / sizeof(suite[0]);
	char why[192];
	bool in_step = true;      /* after a failure the exits no longer follow guest.S */
	pin_to_cpu(job->vm_index * job->opt->vcpus + job->vcpu_index);
	start_line(job);
	for (size_t i = 0; i < n; i++) {
		if (in_step)
			in_step = checks[i].run(job, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "not reached: an earlier check failed");
		report(job, checks[i].name, in_step, why);
	}
	return NULL;
}

/* one VM with opt->vcpus vCPUs, one thread each */
static void run_vm(struct shared *sh, const struct options *opt, int vm_index)
{
	struct kvm_vm vm;
	struct vcpu_job jobs[MAX_VCPUS];
	pthread_t threads[MAX_VCPUS];
	bool joinable[MAX_VCPUS];
	int created = 0;
	bool ok = kvm_vm_create(&vm) == 0;
	for (; ok && created < opt->vcpus; created++) {
		struct vcpu_job *job = &jobs[created];
		*job = (struct vcpu_job){.sh = sh, .opt = opt, .vm = &vm, .vm_index = vm_index,
					 .vcpu_index = created};
		snprintf(job->name, sizeof(job->name), "vm%d.vcpu%d", vm_index, created);
		ok = kvm_vcpu_create(&vm, created, &job->vcpu) == 0;
	}
	struct vcpu_job setup = {.sh = sh, .opt = opt};
	snprintf(setup.name, sizeof(setup.name), "vm%d", vm_index);
	report(&setup, "create", ok, "see KVM-ERROR above");
	if (!ok) {
		/* the others must not wait for this VM's vCPUs */
		__atomic_fetch_add(&sh->ready, opt->vcpus, __ATOMIC_SEQ_CST);
		created--;        /* the failed one */
	} else {
		for (int i = 0; i < created; i++) {
			joinable[i] = pthread_create(&threads[i], NULL, vcpu_thread, &jobs[i]) == 0;
			if (!joinable[i])
				vcpu_thread(&jobs[i]);   /* no thread: run it here, one after another */
		}
		for (int i = 0; i < created; i++)
			if (joinable[i])
				pthread_join(threads[i], NULL);
	}
	for (int i = 0; i < created; i++)
		kvm_vcpu_destroy(&jobs[i].vcpu);
	kvm_vm_destroy(&vm);
}

static int usage(void)
{
	fprintf(stderr, "usage: kvmtest [--vms V] [--vcpus C (1..%d)] [--loops L] | --bench N\n", MAX_VCPUS);
	return 2;
}

static bool parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v = s ? strtoul(s, &end, 0) : 0;
	if (!s || !*s || *end || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_options(int argc, char **argv, struct options *opt)
{
	uint32_t vms = 1, vcpus = 1;
	*opt = (struct options){.loops = DEFAULT_LOOPS};
	for (int i = 1; i < argc; i += 2) {
		const char *v = argv[i + 1];
		bool ok = !strcmp(argv[i], "--vms")     ? parse_uint(v, 1, MAX_VCPUS, &vms)
			  : !strcmp(argv[i], "--vcpus") ? parse_uint(v, 1, MAX_VCPUS, &vcpus)
			  : !strcmp(argv[i], "--loops") ? parse_uint(v, 1, UINT32_MAX, &opt->loops)
			  : !strcmp(argv[i], "--bench") ? parse_uint(v, 1, UINT32_MAX, &opt->bench)
							: false;
		if (!ok)
			return false;
	}
	opt->vms = (int)vms;
	opt->vcpus = (int)vcpus;
	return !opt->bench || (vms == 1 && vcpus == 1);
}

int main(int argc, char **argv)
{
	struct options opt;
	if (!parse_options(argc, argv, &opt))
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);   /* whole lines: processes and threads share the console */
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("kvmtest: mmap");
		return 1;
	}
	for (int i = 0; i < opt.vms; i++) {
		pid_t pid = opt.vms > 1 ? fork() : 0;
		if (pid == 0) {
			run_vm(sh, &opt, i);
			if (opt.vms > 1)
				_exit(0);
		} else if (pid < 0) {
			perror("kvmtest: fork");
			__atomic_fetch_add(&sh->fail, 1, __ATOMIC_SEQ_CST);
			__atomic_fetch_add(&sh->ready, opt.vcpus, __ATOMIC_SEQ_CST);
		}
	}
	int status;
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("KVM: vm process: FAIL (wait status 0x%x)\n", status);
			sh->fail++;
		}
	printf("KVM-DONE pass=%d fail=%d\n", sh->pass, sh->fail);
	return sh->fail == 0 && sh->pass > 0 ? 0 : 1;
}
