/* Hardware task switches between 32-bit TSSes (SDM Vol.3A 7.3 "Task Switching", 7.4 "Task
 * Linking", Table 7-2 busy/NT/link effects; Vol.2A JMP/CALL "task switch", Vol.2A IRET
 * "TASK-RETURN"). Under VMX every task switch is a VM exit (Vol.3C 26.4.2) that the hypervisor
 * must emulate. Task A (ours) JMPs to task B, which counts and JMPs back; then A CALLs task C,
 * which counts and returns by IRET through the back link (NT set by the CALL). check_task_switch_16 does the
 * same with 16-bit TSSes (Vol.3A 7.6 "16-Bit Task-State Segment"). */
#include "kernel.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_A 0x18
#define SEL_B 0x20
#define SEL_C 0x28
#define GDT_N 10
#define TSS_AVAIL 0x9
#define TSS_BUSY 0xB
#define EFLAGS_NT BIT(14)

static uint64_t gdt[GDT_N] __attribute__((aligned(8)));
static struct tss32 tss_a, tss_b, tss_c;
static uint32_t stack_b[256], stack_c[256];
uint32_t ts_counter, ts_c_eflags, ts_esp_before;
extern const char task_b_entry[], task_c_entry[], ts_after_jmp[];

/* Task B: count, JMP back to A (and loop if entered again). Task C: count, note EFLAGS, IRET. */
__asm__(".text\n"
        "task_b_entry: incl ts_counter\n"
        "    ljmp $0x18, $0\n"
        "    jmp task_b_entry\n"
        "task_c_entry: incl ts_counter\n"
        "    pushfl\n"
        "    popl ts_c_eflags\n"
        "    iret\n"
        "    jmp task_c_entry\n");

/* A descriptor (Vol.3A 3.4.5): byte-granular limit; 'access' is the P/DPL/S/type byte, 'flags' the G/DB/L/AVL
 * nibble. Shared with the l1 guest. */
uint64_t desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
    return (limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 | (uint64_t)access << 40 |
           (uint64_t)((limit >> 16) & 0xF) << 48 | (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

static uint64_t tss_desc(const struct tss32 *t) { return desc((uint32_t)t, sizeof *t - 1, 0x80 | TSS_AVAIL, 0); }

static void init_task(struct tss32 *t, const char *entry, uint32_t *stack_top)
{
    memset(t, 0, sizeof *t);
    t->eip = (uint32_t)entry;
    t->eflags = 0x2;
    t->esp = (uint32_t)stack_top;
    t->cs = SEL_CODE;
    t->es = t->ss = t->ds = t->fs = t->gs = SEL_DATA;
    t->iomap = sizeof *t;
}

static unsigned type_of(uint16_t sel) { return (gdt[sel >> 3] >> 40) & 0xF; }

/* Task A (32-bit TSS) and fresh descriptors for it in our GDT, loaded into GDTR and TR. */
static void load_task_a(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } d;
    __asm__ volatile("sgdt %0" : "=m"(d));
    if (d.base != (uint32_t)gdt)
        memcpy(gdt, (const void *)d.base, 3 * 8);       /* null, code, data as boot.S set them */
    memset(&tss_a, 0, sizeof tss_a);
    tss_a.iomap = sizeof tss_a;
    gdt[SEL_A >> 3] = tss_desc(&tss_a);
    d.limit = sizeof gdt - 1, d.base = (uint32_t)gdt;
    __asm__ volatile("lgdt %0; ltr %w1" : : "m"(d), "r"(SEL_A) : "memory");   /* our GDT stays */
}

void check_task_switch(void)
{
    init_task(&tss_b, task_b_entry, stack_b + 256);
    init_task(&tss_c, task_c_entry, stack_c + 256);
    gdt[SEL_B >> 3] = tss_desc(&tss_b);
    gdt[SEL_C >> 3] = tss_desc(&tss_c);
    load_task_a();

    /* JMP A -> B -> A: A resumes after its JMP with its registers from TSS A */
    uint32_t ebx, esi, edi, ebp, esp_after;
    ts_counter = 0;
    __asm__ volatile("push %%ebp\n"
                     "mov %%esp, ts_esp_before\n"
                     "mov $0x11111111, %%ebx; mov $0x22222222, %%esi\n"
                     "mov $0x33333333, %%edi; mov $0x44444444, %%ebp\n"
                     "ljmp $0x20, $0\n"
                     "ts_after_jmp: mov %%ebp, %%eax\n"
                     "mov %%esp, %%ecx\n"
                     "pop %%ebp\n"
                     : "=a"(ebp), "=b"(ebx), "=S"(esi), "=D"(edi), "=c"(esp_after)
                     : : "edx", "memory", "cc");
    if (ts_counter != 1)
        fail("JMP: task B ran %u times, want 1", ts_counter);
    if (ebx != 0x11111111 || esi != 0x22222222 || edi != 0x33333333 || ebp != 0x44444444)
        fail("JMP: registers after return ebx=%x esi=%x edi=%x ebp=%x", ebx, esi, edi, ebp);
    if (esp_after != ts_esp_before)
        fail("JMP: ESP %x after return, was %x", esp_after, ts_esp_before);
    if (tss_a.eip != (uint32_t)ts_after_jmp)
        fail("JMP: TSS A saved EIP %x, want %x (after the JMP)", tss_a.eip, (uint32_t)ts_after_jmp);
    if (type_of(SEL_A) != TSS_BUSY || type_of(SEL_B) != TSS_AVAIL)
        fail("JMP: TSS types A=%x B=%x after return, want B 9", type_of(SEL_A), type_of(SEL_B));
    if (tss_b.link != 0)
        fail("JMP: TSS B back link %x, want none", tss_b.link);

    /* CALL A -> C, IRET back (NT, back link, C's busy bit cleared by the IRET) */
    uint32_t eflags;
    __asm__ volatile("push %%ebp\n"
                     "lcall $0x28, $0\n"
                     "pop %%ebp\n"
                     "pushfl; popl %0\n"
                     : "=r"(eflags) : : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory", "cc");
    if (ts_counter != 2)
        fail("CALL: task C ran %u times in all, want 2", ts_counter);
    if (!(ts_c_eflags & EFLAGS_NT))
        fail("CALL: task C ran with EFLAGS %x, NT clear", ts_c_eflags);
    if (eflags & EFLAGS_NT)
        fail("CALL: EFLAGS %x after the IRET, NT set", eflags);
    if (tss_c.link != SEL_A)
        fail("CALL: TSS C back link %x, want %x", tss_c.link, SEL_A);
    if (type_of(SEL_A) != TSS_BUSY || type_of(SEL_C) != TSS_AVAIL)
        fail("CALL: TSS types A=%x C=%x after the IRET, want B 9", type_of(SEL_A), type_of(SEL_C));
}

/* 16-bit tasks D and E (Figure 7-11): IP and SP are 16 bits, so their code runs in a code segment based just
 * below it (32-bit code, D = 1) and their stack in a 16-bit stack segment (B = 0); the upper halves of their
 * GPRs are undefined (7.6) and not used. */
#define SEL_D 0x30
#define SEL_E 0x38
#define SEL_CODE_DE 0x40
#define SEL_STACK16 0x48
#define TSS16_BUSY 0x3
#define TSS16_AVAIL 0x1

struct tss16 {
    uint16_t link, sp0, ss0, sp1, ss1, sp2, ss2, ip, flags;
    uint16_t ax, cx, dx, bx, sp, bp, si, di, es, cs, ss, ds, ldt;
    uint16_t pad[2]; /* limit 2FH: above both the 2BH and the 2CH of the SDM's tables */
} __attribute__((packed));

static struct tss16 tss_d, tss_e;
static uint16_t stack_de[256];
uint32_t ts16_fs, ts16_e_flags;
extern const char task16_code[], task_d_entry[], task_d_after_jmp[], task_e_entry[];

/* Task D: count, note FS (null from a 16-bit TSS), JMP back to A. Task E: count, note FLAGS, IRET. */
__asm__(".text\n"
        "task16_code:\n"
        "task_d_entry: incl ts_counter\n"
        "    movl %fs, %eax\n"
        "    movl %eax, ts16_fs\n"
        "    ljmp $0x18, $0\n"
        "task_d_after_jmp: jmp task_d_entry\n"
        "task_e_entry: incl ts_counter\n"
        "    pushfw\n"
        "    popw ts16_e_flags\n"
        "    iret\n"
        "    jmp task_e_entry\n");

static uint16_t offset16(const char *p) { return (uint16_t)((uint32_t)p - (uint32_t)task16_code); }

static void init_task16(struct tss16 *t, const char *entry)
{
    memset(t, 0, sizeof *t);
    t->ip = offset16(entry);
    t->flags = 0x2;
    t->sp = sizeof stack_de;
    t->cs = SEL_CODE_DE;
    t->ss = SEL_STACK16;
    t->es = t->ds = SEL_DATA;
}

void check_task_switch_16(void)
{
    init_task16(&tss_d, task_d_entry);
    init_task16(&tss_e, task_e_entry);
    gdt[SEL_D >> 3] = desc((uint32_t)&tss_d, sizeof tss_d - 1, 0x80 | TSS16_AVAIL, 0);
    gdt[SEL_E >> 3] = desc((uint32_t)&tss_e, sizeof tss_e - 1, 0x80 | TSS16_AVAIL, 0);
    gdt[SEL_CODE_DE >> 3] = desc((uint32_t)task16_code, 0xFFFF, 0x9A, 0x4);   /* code, 32-bit */
    gdt[SEL_STACK16 >> 3] = desc((uint32_t)stack_de, sizeof stack_de - 1, 0x92, 0); /* data, 16-bit */
    load_task_a();

    /* JMP A (32-bit) -> D (16-bit) -> A */
    uint32_t ebx, esi, edi, ebp;
    ts_counter = 0;
    ts16_fs = 0xFFFF;
    ts16_e_flags = 0;
    __asm__ volatile("push %%ebp\n"
                     "mov $0x11111111, %%ebx; mov $0x22222222, %%esi\n"
                     "mov $0x33333333, %%edi; mov $0x44444444, %%ebp\n"
                     "ljmp $0x30, $0\n"
                     "mov %%ebp, %%eax\n"
                     "pop %%ebp\n"
                     : "=a"(ebp), "=b"(ebx), "=S"(esi), "=D"(edi)
                     : : "ecx", "edx", "memory", "cc");
    if (ts_counter != 1)
        fail("JMP: 16-bit task D ran %u times, want 1", ts_counter);
    if (ts16_fs != 0)
        fail("JMP: FS %x in the 16-bit task, want the null selector", ts16_fs);
    if (ebx != 0x11111111 || esi != 0x22222222 || edi != 0x33333333 || ebp != 0x44444444)
        fail("JMP: registers after return ebx=%x esi=%x edi=%x ebp=%x", ebx, esi, edi, ebp);
    if (tss_d.ip != offset16(task_d_after_jmp))
        fail("JMP: TSS D saved IP %x, want %x (after its JMP)", tss_d.ip, offset16(task_d_after_jmp));
    if (tss_d.cs != SEL_CODE_DE || tss_d.ss != SEL_STACK16 || tss_d.sp != sizeof stack_de)
        fail("JMP: TSS D saved CS %x SS %x SP %x", tss_d.cs, tss_d.ss, tss_d.sp);
    if (type_of(SEL_A) != TSS_BUSY || type_of(SEL_D) != TSS16_AVAIL)
        fail("JMP: TSS types A=%x D=%x after return, want B 1", type_of(SEL_A), type_of(SEL_D));

    /* CALL A -> E (16-bit), IRET back through the back link */
    uint32_t eflags;
    __asm__ volatile("push %%ebp\n"
                     "lcall $0x38, $0\n"
                     "pop %%ebp\n"
                     "pushfl; popl %0\n"
                     : "=r"(eflags) : : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory", "cc");
    if (ts_counter != 2)
        fail("CALL: 16-bit task E ran %u times in all, want 2", ts_counter);
    if (!(ts16_e_flags & EFLAGS_NT))
        fail("CALL: task E ran with FLAGS %x, NT clear", ts16_e_flags);
    if (eflags & EFLAGS_NT)
        fail("CALL: EFLAGS %x after the IRET, NT set", eflags);
    if (tss_e.link != SEL_A)
        fail("CALL: TSS E back link %x, want %x", tss_e.link, SEL_A);
    if (tss_e.flags & EFLAGS_NT)
        fail("CALL: TSS E saved FLAGS %x, NT set (the IRET clears it)", tss_e.flags);
    if (type_of(SEL_A) != TSS_BUSY || type_of(SEL_E) != TSS16_AVAIL)
        fail("CALL: TSS types A=%x E=%x after the IRET, want B 1", type_of(SEL_A), type_of(SEL_E));
}
