/* lwIP's platform header for the freestanding hypervisor: no libc headers
 * beyond the compiler's stddef.h/stdint.h (libc/ maps string.h to
 * xmhf/string.h), no diagnostics, assertions compiled out (a network log
 * failure must not stop the hypervisor; lwIP's LWIP_ERROR checks stay). */
#ifndef NETLOG_ARCH_CC_H
#define NETLOG_ARCH_CC_H

#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"
#define LWIP_NO_LIMITS_H 1
#define INT_MAX __INT_MAX__
#define LWIP_NO_CTYPE_H 1
#define LWIP_NOASSERT 1
#define LWIP_PLATFORM_DIAG(x) do { } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { } while (0)

#endif
