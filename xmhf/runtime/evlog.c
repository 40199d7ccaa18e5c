/* The event logger (xmhf/evlog.h; docs/evlog.md for the block format).
 * Built only with --event-logger (the Makefile leaves this file out
 * otherwise). Each CPU counts into its own struct evlog_cpu; a block is
 * printed by the CPU it describes (its period is over) or, at power-off,
 * by the CPU that powers off, reading the others' counters as they are. */
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/evlog.h>
#include <xmhf/format.h>
#include <xmhf/log.h>
#include <xmhf/vmx.h>

/* The keys counted per exit kind: the first EVLOG_KEY_SLOTS distinct keys
 * of a kind get their own count, later ones count as 'other'. */
#define EVLOG_KEY_KINDS(X) \
	X(cpuid)           \
	X(msr_read)        \
	X(msr_write)       \
	X(io_port)         \
	X(exception)       \
	X(hypercall)
#define EVLOG_KEY_SLOTS 32

enum evlog_key_kind {
#define EVLOG_KIND_ENUM(name) EVLOG_KEY_##name,
	EVLOG_KEY_KINDS(EVLOG_KIND_ENUM)
#undef EVLOG_KIND_ENUM
	EVLOG_KEY_KIND_COUNT
};

struct evlog_keys {
	u64 key[EVLOG_KEY_SLOTS], count[EVLOG_KEY_SLOTS];
	u32 used;
	u64 other;
};

struct evlog_cpu {
	u64 exits[EXIT_REASON_COUNT];
	struct evlog_keys keys[EVLOG_KEY_KIND_COUNT];
	u64 counters[EVLOG_COUNTER_COUNT];
	u64 next_block; /* TSC at which this CPU prints its next periodic block */
	u32 seq;        /* blocks printed for this CPU */
};

static struct evlog_cpu evlog_cpus[MAX_CPUS];
static u64 period;

static const char *const reason_names[EXIT_REASON_COUNT] = {
#define EVLOG_REASON_NAME(name, n) [n] = #name,
	EXIT_REASONS(EVLOG_REASON_NAME)
#undef EVLOG_REASON_NAME
};
static const char *const kind_names[] = {
#define EVLOG_KIND_NAME(name) #name,
	EVLOG_KEY_KINDS(EVLOG_KIND_NAME)
#undef EVLOG_KIND_NAME
};
static const char *const counter_names[] = {
#define EVLOG_COUNTER_NAME(name, what) #name,
	EVLOG_COUNTERS(EVLOG_COUNTER_NAME)
#undef EVLOG_COUNTER_NAME
};

static void count_key(struct evlog_keys *k, u64 key)
{
	for (u32 i = 0; i < k->used; i++)
		if (k->key[i] == key) {
			k->count[i]++;
			return;
		}
	if (k->used == EVLOG_KEY_SLOTS) {
		k->other++;
		return;
	}
	k->key[k->used] = key;
	k->count[k->used++] = 1;
}

/* The key of an exit, or false if its reason has none. */
static bool exit_key(u32 reason, const struct guest_regs *regs, enum evlog_key_kind *kind, u64 *key)
{
	switch (reason) {
	case EXIT_REASON_CPUID: *kind = EVLOG_KEY_cpuid; *key = (u32)regs->rax; return true;
	case EXIT_REASON_RDMSR: *kind = EVLOG_KEY_msr_read; *key = (u32)regs->rcx; return true;
	case EXIT_REASON_WRMSR: *kind = EVLOG_KEY_msr_write; *key = (u32)regs->rcx; return true;
	case EXIT_REASON_VMCALL: *kind = EVLOG_KEY_hypercall; *key = regs->rax; return true;
	case EXIT_REASON_IO:
		*kind = EVLOG_KEY_io_port;
		*key = IO_QUAL_PORT(vmread(VMCS_EXIT_QUALIFICATION));
		return true;
	case EXIT_REASON_EXCEPTION_NMI:
		*kind = EVLOG_KEY_exception;
		*key = INTR_INFO_VECTOR((u32)vmread(VMCS_VM_EXIT_INTR_INFO));
		return true;
	default:
		return false;
	}
}

/* One line of cpu's block number seq: "evlog CPU.SEQ| TEXT" (the tag lets
 * tools/evlog put blocks together from lines that other output interleaves). */
static void block_line(u32 cpu, u32 seq, const char *fmt, ...)
{
	char text[LOG_LINE_MAX - 32];
	va_list ap;
	va_start(ap, fmt);
	xvsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pr_info("evlog %u.%u| %s", cpu, seq, text);
}

/* A YAML mapping "name:" of the nonzero entries (omitted entries are 0). */
static void print_keys(u32 cpu, u32 seq, const char *name, const struct evlog_keys *k)
{
	if (!k->used)
		return;
	block_line(cpu, seq, "%s:", name);
	for (u32 i = 0; i < k->used; i++)
		block_line(cpu, seq, "  0x%llx: %llu", k->key[i], k->count[i]);
	if (k->other)
		block_line(cpu, seq, "  other: %llu", k->other);
}

static void print_block(u32 cpu, const char *why)
{
	struct evlog_cpu *e = &evlog_cpus[cpu];
	u32 seq = __atomic_fetch_add(&e->seq, 1, __ATOMIC_RELAXED);

	block_line(cpu, seq, "---");
	block_line(cpu, seq, "cpu: %u", cpu);
	block_line(cpu, seq, "seq: %u", seq);
	block_line(cpu, seq, "why: \"%s\"", why);
	block_line(cpu, seq, "tsc: %llu", rdtsc());
	block_line(cpu, seq, "exits:");
	for (u32 r = 0; r < EXIT_REASON_COUNT; r++)
		if (e->exits[r])
			block_line(cpu, seq, "  %s: %llu", reason_names[r] ? reason_names[r] : "UNKNOWN", e->exits[r]);
	for (u32 k = 0; k < EVLOG_KEY_KIND_COUNT; k++)
		print_keys(cpu, seq, kind_names[k], &e->keys[k]);
	block_line(cpu, seq, "counters:");
	for (u32 c = 0; c < EVLOG_COUNTER_COUNT; c++)
		block_line(cpu, seq, "  %s: %llu", counter_names[c], e->counters[c]);
	block_line(cpu, seq, "...");
}

void evlog_exit(u32 reason, const struct guest_regs *regs)
{
	u32 cpu = this_cpu()->index;
	struct evlog_cpu *e = &evlog_cpus[cpu];
	enum evlog_key_kind kind;
	u64 key;

	if (reason >= EXIT_REASON_COUNT)
		return;
	e->exits[reason]++;
	if (exit_key(reason, regs, &kind, &key))
		count_key(&e->keys[kind], key);
	if (!period)
		return;
	u64 now = rdtsc();
	if (!e->next_block) {
		e->next_block = now + period;
	} else if (now >= e->next_block) {
		print_block(cpu, "periodic");
		e->next_block = now + period;
	}
}

/* atomic: an NMI may count while this CPU counts the same counter */
void evlog_add(enum evlog_counter c, u64 n)
{
	__atomic_fetch_add(&evlog_cpus[this_cpu()->index].counters[c], n, __ATOMIC_RELAXED);
}

void evlog_print_all(const char *why)
{
	for (u32 cpu = 0; cpu < cpu_count(); cpu++)
		print_block(cpu, why);
}

void evlog_set_period(u64 ticks) { period = ticks; }
