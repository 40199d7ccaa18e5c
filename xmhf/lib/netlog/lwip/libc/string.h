/* string.h for lwIP: the hypervisor's own (xmhf/lib/string.c). */
#include <xmhf/string.h>
