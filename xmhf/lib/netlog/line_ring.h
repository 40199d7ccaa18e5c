/* The network log's queue of console lines: one producer (the console,
 * under its line lock) and one consumer (the CPU that holds the network
 * log's lock), lock-free between them, so that printing never waits for
 * the network. A line that finds the ring full is lost and counted. */
#ifndef NETLOG_LINE_RING_H
#define NETLOG_LINE_RING_H

#include <xmhf/log.h>
#include <xmhf/types.h>

#define LINE_RING_LINES 512 /* a power of two */

struct line_ring {
	char line[LINE_RING_LINES][LOG_LINE_MAX];
	u16 len[LINE_RING_LINES];
	u32 head; /* next slot the producer fills */
	u32 tail; /* oldest unsent line */
	u32 lost; /* lines dropped since line_ring_take_lost */
};

/* Producer: queue s (cut to LOG_LINE_MAX - 1 bytes), or count it lost. */
void line_ring_put(struct line_ring *r, const char *s);
/* Anyone: whether a line is queued (a hint for whoever might consume). */
bool line_ring_pending(const struct line_ring *r);
/* Consumer: the oldest line and its length, or NULL when empty; it stays
 * queued until line_ring_pop. */
const char *line_ring_peek(struct line_ring *r, u32 *len);
void line_ring_pop(struct line_ring *r);
/* Consumer: the lines lost since the last call, and reset the count. */
u32 line_ring_take_lost(struct line_ring *r);

#endif
