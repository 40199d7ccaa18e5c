/* The PCI Express ECAM pages (ACPI MCFG) of the PCI functions the
 * hypervisor keeps: the guest reads all ones there (EPT01,
 * ept01_show_ones), as it does through ports 0xCF8/0xCFC (exit_io.c). */
#ifndef RUNTIME_ECAM_HIDE_H
#define RUNTIME_ECAM_HIDE_H

#include <xmhf/acpi.h>
#include <xmhf/cmdline.h>
#include <xmhf/types.h>

/* Before any CPU builds its EPT01: if the MCFG maps segment 0's bus of bdf,
 * that function's page reads as all ones. Panics if the page cannot be
 * hidden; a missing or malformed MCFG (nothing the guest could trust
 * either) leaves nothing to hide, with a warning for the malformed one. */
void ecam_hide_function(u64 rsdp, acpi_map_fn map, u16 bdf);
/* Test builds (--test-hypercalls): test_ecam_page=ADDR hides the 4 KiB page
 * at ADDR the same way (Bochs' i440FX has no ECAM); a bad value gets a
 * warning. Other builds ignore the key. */
void ecam_hide_test_page(const struct cmdline *c);

#endif
