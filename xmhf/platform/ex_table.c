/* The exception fix-up table (fixup.S): the image's linker script gathers
 * the .ex_table entries between __ex_table_start and __ex_table_end. */
#include <xmhf/fixup.h>

extern const struct ex_table_entry __ex_table_start[], __ex_table_end[];

u64 ex_table_lookup(u64 rip)
{
	for (const struct ex_table_entry *e = __ex_table_start; e < __ex_table_end; e++)
		if (e->fault_rip == rip)
			return e->fixup_rip;
	return 0;
}
