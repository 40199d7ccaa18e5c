/* The caller's side of a PAL (pal_lib.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "pal_funcs.h"
#include "pal_lib.h"

#define PAGE 4096u

static size_t pages(size_t bytes)
{
	return (bytes + PAGE - 1) / PAGE;
}

size_t pal_param_pages(const struct tv_pal_params *params)
{
	size_t bytes = TV_PARAM_AREA_OFFSET + TV_PARAM_AREA_HEADER;
	for (uint32_t i = 0; i < params->count; i++) {
		bytes += TV_PARAM_AREA_ENTRY;
		if (params->params[i].type == TV_PAL_PM_POINTER)
			bytes += params->params[i].size * sizeof(uintptr_t);
	}
	return pages(bytes);
}

/* SIGINT is blocked while PALs are registered, so that ^C cannot leave one behind. */
static unsigned registered_pals;

static void block_sigint(int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigprocmask(how, &set, NULL);
}

/* What TV_HC_REG was given, for a rejected registration. */
static void print_registration(const struct pal *pal)
{
	fprintf(stderr, "  entry %p, %u sections:", pal->entry, pal->sections.count);
	for (uint32_t i = 0; i < pal->sections.count; i++) {
		const struct tv_pal_section *sec = &pal->sections.sections[i];
		fprintf(stderr, " {type %u, %u pages at %#llx}", sec->type, sec->pages,
			(unsigned long long)sec->start);
	}
	fprintf(stderr, "\n  %u parameters:", pal->params.count);
	for (uint32_t i = 0; i < pal->params.count; i++)
		fprintf(stderr, " {type %u, size %llu}", pal->params.params[i].type,
			(unsigned long long)pal->params.params[i].size);
	fprintf(stderr, "\n");
}

struct pal *register_pal(const struct tv_pal_params *params, const void *fn, enum pal_mode mode)
{
	size_t code_size = (size_t)(__stop_pal_text - __start_pal_text);
	const char *f = fn;
	if (f < __start_pal_text || f >= __stop_pal_text || params->count > TV_MAX_PARAMS) {
		fprintf(stderr, "register_pal: bad function or parameters\n");
		return NULL;
	}
	struct pal *pal = calloc(1, sizeof(*pal));
	if (!pal) {
		perror("register_pal: calloc");
		return NULL;
	}
	const uint32_t sec_pages[PAL_SECTIONS] = {
		[PAL_CODE_SEC] = pages(code_size), [PAL_DATA_SEC] = 1, [PAL_STACK_SEC] = 1,
		[PAL_PARAM_SEC] = pal_param_pages(params),
	};
	const uint32_t sec_type[PAL_SECTIONS] = {
		[PAL_CODE_SEC] = TV_PAL_SECTION_CODE, [PAL_DATA_SEC] = TV_PAL_SECTION_DATA,
		[PAL_STACK_SEC] = TV_PAL_SECTION_STACK, [PAL_PARAM_SEC] = TV_PAL_SECTION_PARAM,
	};
	for (int s = 0; s < PAL_SECTIONS; s++)
		pal->size += sec_pages[s] * PAGE;
	pal->mem = mmap(NULL, pal->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pal->mem == MAP_FAILED) {
		perror("register_pal: mmap");
		free(pal);
		return NULL;
	}
	/* present and resident: the hypervisor finds every page in the guest page tables */
	if (mlock(pal->mem, pal->size) != 0) {
		perror("register_pal: mlock");
		goto fail;
	}
	memset(pal->mem, 0, pal->size);
	size_t code_bytes = sec_pages[PAL_CODE_SEC] * PAGE;
	memset(pal->mem, 0xcc, code_bytes); /* INT3 after the code */
	memcpy(pal->mem, __start_pal_text, code_size);
	if (mprotect(pal->mem, code_bytes, PROT_READ | PROT_EXEC) != 0) {
		perror("register_pal: mprotect");
		goto fail;
	}
	pal->entry = pal->mem + (f - __start_pal_text);

	char *start = pal->mem;
	pal->sections.count = PAL_SECTIONS;
	for (int s = 0; s < PAL_SECTIONS; s++) {
		pal->sections.sections[s] = (struct tv_pal_section){
			.type = sec_type[s], .pages = sec_pages[s], .start = (uintptr_t)start };
		start += sec_pages[s] * PAGE;
	}
	pal->params = *params;
	if (mode == PAL_COPY_ONLY)
		return pal;
	if (registered_pals++ == 0)
		block_sigint(SIG_BLOCK);
	uintptr_t rc = tv_vmcall(TV_HC_REG, (uintptr_t)&pal->sections, (uintptr_t)&pal->params,
				 (uintptr_t)pal->entry);
	if (rc == 0) {
		pal->registered = 1;
		return pal;
	}
	fprintf(stderr, "register_pal: TV_HC_REG returned %#lx\n", (unsigned long)rc);
	print_registration(pal);
	if (--registered_pals == 0)
		block_sigint(SIG_UNBLOCK);
fail:
	munmap(pal->mem, pal->size);
	free(pal);
	return NULL;
}

uintptr_t unregister_pal(struct pal *pal)
{
	uintptr_t rc = 0;
	if (pal->registered) {
		rc = tv_vmcall(TV_HC_UNREG, (uintptr_t)pal->entry, 0, 0);
		if (rc != 0) {
			/* the pages may still be lent to the hypervisor: keep them out of the kernel */
			fprintf(stderr, "unregister_pal: TV_HC_UNREG returned %#lx\n", (unsigned long)rc);
			return rc;
		}
		if (--registered_pals == 0)
			block_sigint(SIG_UNBLOCK);
	}
	munmap(pal->mem, pal->size);
	free(pal);
	return rc;
}

void require_trustvisor(const char *prog)
{
	struct tv_cpuid r = tv_cpuid();
	if (tv_present(r))
		return;
	fprintf(stderr,
		"%s: TrustVisor not found: CPUID EAX=%#x ECX=%#x returned EAX=%#x, not %#x; "
		"run it in a guest of the xmhf-ng trustvisor hypapp\n",
		prog, TV_CPUID_LEAF, TV_VMCALL_OFFSET, r.eax, TV_CPUID_SIGNATURE);
	exit(1);
}
