/* Thin wrappers for privileged x86 instructions. */
#ifndef XMHF_CPU_H
#define XMHF_CPU_H

#include <xmhf/types.h>

struct cpuid_regs { u32 eax, ebx, ecx, edx; };
/* GDTR/IDTR as SGDT/SIDT store them */
struct desc_ptr { u16 limit; u64 base; } PACKED;

#ifdef XMHF_HOST_TEST
/* Host unit tests: fake CPU state (tests/unit/fake_cpu.c). */
void outb(u16 port, u8 v);
void outw(u16 port, u16 v);
void outl(u16 port, u32 v);
u8 inb(u16 port);
u16 inw(u16 port);
u32 inl(u16 port);
u64 rdmsr(u32 msr);
void wrmsr(u32 msr, u64 v);
struct cpuid_regs cpuid(u32 leaf, u32 subleaf);
#define DEFINE_CR(n) u64 read_cr##n(void); void write_cr##n(u64 v);
u64 rdtsc(void);
struct desc_ptr store_gdtr(void);
struct desc_ptr store_idtr(void);
u32 mmio_read32(u64 addr);
void mmio_write32(u64 addr, u32 v);
void dr6_set_bits(u64 bits);
#else
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

#define DEFINE_CR(n) \
	static inline u64 read_cr##n(void) { u64 v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(u64 v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
static inline struct desc_ptr store_gdtr(void)
{
	struct desc_ptr d;
	__asm__ volatile("sgdt %0" : "=m"(d));
	return d;
}
static inline struct desc_ptr store_idtr(void)
{
	struct desc_ptr d;
	__asm__ volatile("sidt %0" : "=m"(d));
	return d;
}
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write32(u64 addr, u32 v) { *(volatile u32 *)addr = v; }
/* DR6 is not switched by VMX: while the hypervisor runs it is the guest's. */
static inline void dr6_set_bits(u64 bits)
{
	u64 dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	__asm__ volatile("mov %0, %%dr6" : : "r"(dr6 | bits));
}
#endif /* XMHF_HOST_TEST */
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void cpu_relax(void) { __asm__ volatile("pause" : : : "memory"); }
static inline NORETURN void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
