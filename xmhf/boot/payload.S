/* runtime.bin, carried inside the loader and relocated to the base; the
 * UEFI build puts it where gnu-efi's linker script keeps read-only data. */
#ifndef PAYLOAD_SECTION
#define PAYLOAD_SECTION .payload
#endif
	.section PAYLOAD_SECTION, "a"
	.balign 4096
	.global runtime_payload, runtime_payload_end
runtime_payload:
	.incbin RUNTIME_BIN
runtime_payload_end:
	.section .note.GNU-stack, "", @progbits
