/* IDT of interrupt gates to boot.S's stubs (SDM Vol.3A 6.11); shared with the l1 guest. */
#include "kernel.h"

static uint64_t idt[256] __attribute__((aligned(8)));

uint64_t idt_gate(const void *handler)
{
    uint32_t h = (uint32_t)handler;
    return (h & 0xFFFF) | (uint64_t)0x08 << 16 | (uint64_t)0x8E00 << 32 | (uint64_t)(h >> 16) << 48;
}

void idt_init(void)
{
    for (int v = 0; v < 256; v++)
        idt[v] = idt_gate(v < 32 ? isr_stubs + 16 * v : isr_other);
    idt_load();
}

void idt_load(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } d = { sizeof idt - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" : : "m"(d));
}

bool expect_fault(int vector, void (*fn)(void *), void *arg) { return try_call(fn, arg) == vector; }
