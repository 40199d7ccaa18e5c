/* A failed CHECK, in every image: through the image's panic(). */
#include <xmhf/check.h>
#include <xmhf/panic.h>

void check_failed(const char *file, int line, const char *cond)
{
	panic("xmhf: CHECK failed at %s:%d: %s", file, line, cond);
}
