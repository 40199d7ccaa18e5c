/* Per-CPU state of the l1 guest: a GDT with user segments and one 32-bit TSS per CPU (VM entry
 * needs a host TR, SDM Vol.3C 26.2.3), identity paging of [0, 4 GiB) with 4 MiB pages (VMX
 * operation needs CR0.PG = 1, IA32_VMX_CR0_FIXED0), and a way down to CPL 3. */
#include "l1.h"

#define GDT_TSS0 5                           /* GDT index of CPU 0's TSS */
#define PDE_P BIT(0)
#define PDE_RW BIT(1)
#define PDE_US BIT(2)                        /* CPL 3 may use it too (run_ring3) */
#define PDE_PS BIT(7)
#define ACC_CODE 0x9A
#define ACC_DATA 0x92
#define ACC_DPL3 0x60
#define ACC_TSS32 0x89
#define FLAGS_4K_32BIT 0xC

static uint64_t gdt[GDT_TSS0 + L1_MAX_CPUS] __attribute__((aligned(8)));
static struct tss32 tss[L1_MAX_CPUS];
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static uint8_t ring3_stack[4096] __attribute__((aligned(16)));
static int this_cpu;
static struct gdtr gdtr, idtr;

int cpu_index(void) { return this_cpu; }
uint16_t cpu_tss_sel(void) { return (uint16_t)((GDT_TSS0 + this_cpu) << 3); }
struct tss32 *cpu_tss(void) { return &tss[this_cpu]; }
uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
struct gdtr cpu_gdtr(void) { return gdtr; }
struct gdtr cpu_idtr(void) { return idtr; }

/* A VM exit sets the GDTR and IDTR limits to FFFFH (SDM Vol.3C 27.5.2): back to the real ones. */
void cpu_reload_tables(void) { __asm__ volatile("lgdt %0; lidt %1" : : "m"(gdtr), "m"(idtr) : "memory"); }

static void load_segments(uint16_t data)
{
    __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%fs; mov %0, %%gs" : : "r"(data) : "memory");
}

void cpu_setup(int cpu)
{
    this_cpu = cpu;
    gdt[SEL_CODE >> 3] = desc(0, 0xFFFFF, ACC_CODE, FLAGS_4K_32BIT);
    gdt[SEL_DATA >> 3] = desc(0, 0xFFFFF, ACC_DATA, FLAGS_4K_32BIT);
    gdt[SEL_USER_CODE >> 3] = desc(0, 0xFFFFF, ACC_CODE | ACC_DPL3, FLAGS_4K_32BIT);
    gdt[SEL_USER_DATA >> 3] = desc(0, 0xFFFFF, ACC_DATA | ACC_DPL3, FLAGS_4K_32BIT);
    memset(&tss[cpu], 0, sizeof tss[cpu]);
    tss[cpu].iomap = sizeof tss[cpu];        /* no I/O bitmap */
    gdt[GDT_TSS0 + cpu] = desc((uint32_t)&tss[cpu], sizeof tss[cpu] - 1, ACC_TSS32, 0);
    gdtr = (struct gdtr){ sizeof gdt - 1, (uint32_t)gdt };
    __asm__ volatile("lgdt %0; pushl %1; pushl $1f; lret; 1: mov %2, %%ss"
                     : : "m"(gdtr), "i"(SEL_CODE), "r"((uint32_t)SEL_DATA) : "memory");
    load_segments(SEL_DATA);
    __asm__ volatile("ltr %w0" : : "r"(cpu_tss_sel()));
    idt_load();
    __asm__ volatile("sidt %0" : "=m"(idtr));
    for (uint32_t i = 0; i < 1024; i++)
        page_dir[i] = i << 22 | PDE_PS | PDE_US | PDE_RW | PDE_P;
    write_cr4(read_cr4() | CR4_PSE);
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint32_t)page_dir) : "memory");
    write_cr0(read_cr0() | CR0_PG | CR0_NE);
}

/* --- CPL 3: IRET to a user code segment (SDM Vol.2A IRET, return to outer privilege level); the
 * fault that ends it comes back on the TSS's ring-0 stack, and try_call() recovers from it. */
struct ring3_call { void (*fn)(void *); void *arg; };
static struct ring3_call ring3;
volatile uint32_t ring3_returned;
void ring3_main(void);
void ring3_main(void)
{
    ring3.fn(ring3.arg);
    ring3_returned = 1;
    __asm__ volatile("hlt");                 /* #GP(0) at CPL 3: back to try_call */
}

static void enter_ring3(void *unused)
{
    (void)unused;
    cpu_tss()->esp0 = (uint32_t)(ring0_stack + sizeof ring0_stack);
    cpu_tss()->ss0 = SEL_DATA;
    load_segments(SEL_USER_DATA);
    __asm__ volatile("pushl %0; pushl %1; pushfl; pushl %2; pushl %3; iret"
                     : : "i"(SEL_USER_DATA), "r"((uint32_t)(ring3_stack + sizeof ring3_stack)), "i"(SEL_USER_CODE),
                       "r"(ring3_main) : "memory");
}

int run_ring3(void (*fn)(void *), void *arg)
{
    ring3 = (struct ring3_call){ fn, arg };
    ring3_returned = 0;
    int v = try_call(enter_ring3, NULL);
    load_segments(SEL_DATA);
    return ring3_returned ? -1 : v;
}
