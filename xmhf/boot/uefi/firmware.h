/* Firmware calls both of our EFI applications make (xmhf.efi and the smoke
 * test's efi-marker.efi); needs gnu-efi's <efi.h> first. */
#ifndef XMHF_BOOT_UEFI_FIRMWARE_H
#define XMHF_BOOT_UEFI_FIRMWARE_H

#include "uefi_boot.h"

/* Print s (ASCII) on ConOut. */
void uefi_conout(EFI_SYSTEM_TABLE *st, const char *s);
/* The current memory map in a pool buffer the caller frees
 * (FreePool(m->desc)); EFI_SUCCESS or the failing call's status. */
EFI_STATUS uefi_get_memory_map(EFI_SYSTEM_TABLE *st, struct uefi_mmap *m);
/* The image's load options as the ASCII command line (uefi_load_options_to_ascii);
 * "" if the image has no EFI_LOADED_IMAGE_PROTOCOL. False if it was cut. */
bool uefi_read_options(EFI_SYSTEM_TABLE *st, EFI_HANDLE image, char *out, u64 out_size);

#endif
