/* runtime.bin, carried inside the loader and relocated to the base. */
	.section .payload, "a"
	.balign 4096
	.global runtime_payload, runtime_payload_end
runtime_payload:
	.incbin RUNTIME_BIN
runtime_payload_end:
	.section .note.GNU-stack, "", @progbits
