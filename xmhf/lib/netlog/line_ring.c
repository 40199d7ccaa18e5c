/* See line_ring.h: head and tail only grow (u32 wrap-around is harmless,
 * LINE_RING_LINES divides 2^32); each is written by one side only and read
 * by the other with acquire order, after the slot is filled or emptied. */
#include "line_ring.h"
#include <xmhf/string.h>

_Static_assert((LINE_RING_LINES & (LINE_RING_LINES - 1)) == 0, "a power of two");

void line_ring_put(struct line_ring *r, const char *s)
{
	u32 head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	if (head - tail == LINE_RING_LINES) {
		__atomic_fetch_add(&r->lost, 1, __ATOMIC_RELAXED);
		return;
	}
	u32 slot = head % LINE_RING_LINES;
	size_t n = strlcpy(r->line[slot], s, LOG_LINE_MAX);
	r->len[slot] = (u16)(n < LOG_LINE_MAX ? n : LOG_LINE_MAX - 1);
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
}

bool line_ring_pending(const struct line_ring *r)
{
	return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) != __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}

const char *line_ring_peek(struct line_ring *r, u32 *len)
{
	u32 tail = r->tail;

	if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == tail)
		return NULL;
	*len = r->len[tail % LINE_RING_LINES];
	return r->line[tail % LINE_RING_LINES];
}

void line_ring_pop(struct line_ring *r)
{
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

u32 line_ring_take_lost(struct line_ring *r)
{
	return __atomic_exchange_n(&r->lost, 0, __ATOMIC_RELAXED);
}
