/* Firmware calls shared by our EFI applications (firmware.h). */
#include <efi.h>
#include "firmware.h"

#define CONOUT_CHUNK 128

void uefi_conout(EFI_SYSTEM_TABLE *st, const char *s)
{
	CHAR16 buf[CONOUT_CHUNK + 1];
	while (*s) {
		u32 n = 0;
		while (*s && n < CONOUT_CHUNK)
			buf[n++] = (CHAR16)(u8)*s++;
		buf[n] = 0;
		st->ConOut->OutputString(st->ConOut, buf);
	}
}

EFI_STATUS uefi_get_memory_map(EFI_SYSTEM_TABLE *st, struct uefi_mmap *m)
{
	UINTN size = 0, key, desc_size = 0;
	UINT32 version;
	void *buf = NULL;
	EFI_STATUS s;

	while ((s = st->BootServices->GetMemoryMap(&size, buf, &key, &desc_size, &version)) == EFI_BUFFER_TOO_SMALL) {
		if (buf)
			st->BootServices->FreePool(buf);
		buf = NULL;
		size += 4 * desc_size; /* the pool allocation may add descriptors */
		EFI_STATUS a = st->BootServices->AllocatePool(EfiLoaderData, size, &buf);
		if (a != EFI_SUCCESS)
			return a;
	}
	if (s != EFI_SUCCESS) {
		if (buf)
			st->BootServices->FreePool(buf);
		return s;
	}
	*m = (struct uefi_mmap){ buf, size, desc_size };
	return EFI_SUCCESS;
}

bool uefi_read_options(EFI_SYSTEM_TABLE *st, EFI_HANDLE image, char *out, u64 out_size)
{
	static EFI_GUID loaded_image_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li = NULL;

	if (st->BootServices->HandleProtocol(image, &loaded_image_guid, (void **)&li) != EFI_SUCCESS || !li)
		return uefi_load_options_to_ascii(NULL, 0, out, out_size);
	return uefi_load_options_to_ascii(li->LoadOptions, li->LoadOptionsSize, out, out_size);
}
