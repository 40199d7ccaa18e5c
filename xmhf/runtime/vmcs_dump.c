/* VMCS dumps by field name, generated from the field table. */
#include <runtime/vmx_ops.h>
#include <xmhf/log.h>

struct field_name {
	u32 encoding;
	const char *name;
};

#define FIELD_NAME(name, encoding, width, props, exists) { encoding, #name },
static const struct field_name fields[] = { VMCS_FIELDS(FIELD_NAME) };
#undef FIELD_NAME

void vmcs_dump(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(fields); i++) {
		u64 v;
		u8 failed;
		__asm__ volatile("vmread %2, %0; setbe %1" : "=r"(v), "=qm"(failed) : "r"((u64)fields[i].encoding) : "cc");
		if (!failed)
			pr_err("  %-32s 0x%llx", fields[i].name, v);
	}
}
