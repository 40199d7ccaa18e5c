/* A spin lock that knows its owner (CPU index + 1), so that a CPU can
 * tell whether it holds it. Lock order: docs/architecture.md "Locks and
 * NMIs". */
#ifndef XMHF_SPINLOCK_H
#define XMHF_SPINLOCK_H

#include <xmhf/types.h>

#define SPINLOCK_FREE 0

struct spinlock {
	volatile u32 owner;
};

static inline bool spin_held_by(const struct spinlock *l, u32 cpu)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == cpu + 1;
}

static inline bool spin_trylock(struct spinlock *l, u32 cpu)
{
	return __atomic_compare_exchange_n(&l->owner, &(u32){ SPINLOCK_FREE }, cpu + 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, SPINLOCK_FREE, __ATOMIC_RELEASE);
}

#endif
