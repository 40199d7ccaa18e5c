/* The event logger (./build.sh --event-logger; docs/evlog.md): per-CPU
 * counters of VM exits and of the cross-CPU and NMI paths, printed as YAML
 * blocks on the console every evlog_period= ticks and when the guest powers
 * off or resets. Each CPU writes only its own counters, with plain
 * increments and no lock, so NMI paths may count. Without --event-logger
 * every call below compiles to nothing. */
#ifndef XMHF_EVLOG_H
#define XMHF_EVLOG_H

#include <config.h>
#include <xmhf/cpu.h>
#include <xmhf/guest.h>
#include <xmhf/types.h>

/* Counters besides the exits: X(name, what it counts). The names are the
 * YAML keys (tools/evlog reads them). */
#define EVLOG_COUNTERS(X)                                                              \
	X(nmi_received, "NMIs this CPU took (in the guest or in VMX root), kicks included") \
	X(nmi_deferred, "guest NMIs that arrived in VMX root, injected after the next exit") \
	X(nmi_injected, "NMIs injected into the guest")                                    \
	X(kicks_sent, "kick NMIs this CPU sent to make another see a request")             \
	X(shootdowns_sent, "EPT01 shootdowns this CPU started (one per change set)")       \
	X(shootdowns_applied, "INVEPTs of this CPU's EPT01 done for a shootdown")           \
	X(quiesces, "quiesces this CPU led")                                               \
	X(quiesce_ticks, "TSC ticks the CPUs were stopped in the quiesces this CPU led")    \
	X(stops, "times this CPU was stopped by another's quiesce")                        \
	X(nested_reflected, "L2 exits reflected to L1")                                    \
	X(nested_l0, "L2 exits handled in L0, L2 resumed")                                 \
	X(ept02_misses, "EPT02 entries built on an EPT02 violation")                       \
	X(ept02_invalidated, "EPT02 entries invalidated for an EPT01 change")              \
	X(ept02_full_drops, "EPT02s dropped whole for an EPT01 change (overflow, rebuild)") \
	X(rewalks, "VMCS02 re-translations of the GPADDR fields")                          \
	X(rewalk_fields, "GPADDR fields re-translated by the rewalks")

enum evlog_counter {
#define EVLOG_ENUM(name, what) EVLOG_##name,
	EVLOG_COUNTERS(EVLOG_ENUM)
#undef EVLOG_ENUM
	EVLOG_COUNTER_COUNT
};

#if CONFIG_EVENT_LOGGER
/* A VM exit with basic reason 'reason' (before it is handled): counted by
 * reason and by its key (CPUID leaf, MSR, I/O port, exception vector,
 * hypercall number in RAX); prints this CPU's block when its period is
 * over. */
void evlog_exit(u32 reason, const struct guest_regs *regs);
/* Add n to a counter of this CPU. */
void evlog_add(enum evlog_counter c, u64 n);
/* Every CPU's block now ('why' in the block), e.g. before a power-off. */
void evlog_print_all(const char *why);
/* The period in TSC ticks (0: only evlog_print_all); from evlog_period=. */
void evlog_set_period(u64 ticks);
#else
static inline void evlog_exit(u32 reason, const struct guest_regs *regs) {}
static inline void evlog_add(enum evlog_counter c, u64 n) {}
static inline void evlog_print_all(const char *why) {}
static inline void evlog_set_period(u64 ticks) {}
#endif

#define evlog_count(c) evlog_add(EVLOG_##c, 1)

/* The TSC for the logger's durations (0 without it: no RDTSC). */
static inline u64 evlog_now(void) { return CONFIG_EVENT_LOGGER ? rdtsc() : 0; }

#endif
