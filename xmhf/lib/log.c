/* Leveled logging on the console. */
#include <xmhf/console.h>
#include <xmhf/format.h>
#include <xmhf/log.h>

static enum loglvl current_level = LOG_INFO;
static u32 (*cpu_index_fn)(void);

void log_set_level(enum loglvl level) { current_level = level; }
bool log_enabled(enum loglvl level) { return level <= current_level; }
void log_set_cpu_index_fn(u32 (*fn)(void)) { cpu_index_fn = fn; }

void xvlog(enum loglvl level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	u32 cpu = cpu_index_fn ? cpu_index_fn() : LOG_NO_CPU;
	int n;

	if (!log_enabled(level))
		return;
	if (cpu == LOG_NO_CPU)
		n = xsnprintf(line, sizeof(line), "[L] ");
	else
		n = xsnprintf(line, sizeof(line), "[%u] ", cpu);
	xvsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	console_write_line(cpu, line);
}

void xlog(enum loglvl level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xvlog(level, fmt, ap);
	va_end(ap);
}
