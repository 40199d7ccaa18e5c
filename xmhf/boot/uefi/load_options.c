/* The command line from EFI_LOADED_IMAGE_PROTOCOL.LoadOptions (uefi_boot.h). */
#include "uefi_boot.h"

#define ASCII_FIRST_PRINTABLE 0x20
#define ASCII_LAST_PRINTABLE 0x7e

/* Character i of the options: UCS-2 code units or bytes. */
static u32 char_at(const u8 *p, bool ucs2, u32 i)
{
	return ucs2 ? (u32)p[2 * i] | (u32)p[2 * i + 1] << 8 : p[i];
}

static char to_ascii(u32 c)
{
	if (c == '\t' || c == '\r' || c == '\n')
		return ' ';
	return c >= ASCII_FIRST_PRINTABLE && c <= ASCII_LAST_PRINTABLE ? (char)c : '?';
}

bool uefi_load_options_to_ascii(const void *options, u32 size, char *out, u64 out_size)
{
	const u8 *p = options;
	bool ucs2 = p && size >= 2 && p[1] == 0;
	u32 n = !p ? 0 : ucs2 ? size / 2 : size, i = 0;
	u64 len = 0;

	while (i < n && char_at(p, ucs2, i) == ' ')
		i++;
	u32 first = i;
	bool has_eq = false;
	while (i < n && char_at(p, ucs2, i) && char_at(p, ucs2, i) != ' ')
		has_eq |= char_at(p, ucs2, i++) == '=';
	if (has_eq) /* the first word is an option, not the image's path */
		i = first;
	else
		while (i < n && char_at(p, ucs2, i) == ' ')
			i++;
	for (; i < n && char_at(p, ucs2, i); i++) {
		if (len + 1 >= out_size) {
			out[len] = '\0';
			return false;
		}
		out[len++] = to_ascii(char_at(p, ucs2, i));
	}
	out[len] = '\0';
	return true;
}
