/* TV_HC_REG's structures validated: see tv_register.h. */
#include "tv_register.h"
#include <xmhf/paging.h>


bool tv_in_address_space(u64 start, u64 bytes, bool caller64)
{
	if (!caller64)
		return start < BIT(32) && bytes <= BIT(32) - start;
	if (start < LA48_LOWER_HALF_END)
		return bytes <= LA48_LOWER_HALF_END - start;
	return start >= LA48_UPPER_HALF_START && bytes <= ~start; /* no wrap past 2^64 */
}

static bool known_section_type(u32 type)
{
	return type >= TV_PAL_SECTION_CODE && type <= TV_PAL_SECTION_SHARED_CODE;
}

static enum tv_error check_section(const struct tv_pal_section *in, bool caller64)
{
	if (!known_section_type(in->type))
		return TV_ERR_SECTION_TYPE;
	if (in->pages == 0)
		return TV_ERR_SECTION_EMPTY;
	if (!IS_ALIGNED(in->start, PAGE_SIZE))
		return TV_ERR_SECTION_UNALIGNED;
	if (!tv_in_address_space(in->start, (u64)in->pages << PAGE_SHIFT, caller64))
		return TV_ERR_SECTION_RANGE;
	if (in->start == 0) /* aligned: the section covers page 0 */
		return TV_ERR_SECTION_SENTINEL;
	return TV_OK;
}

static bool overlap(const struct tv_section *a, const struct tv_section *b)
{
	return a->start.v < tv_section_end(b) && b->start.v < tv_section_end(a);
}

static enum tv_error check_sections(const struct tv_pal_sections *secs, struct tv_pal_layout *l)
{
	u32 n_code = 0, n_param = 0, n_stack = 0;
	u64 pages = 0;
	if (secs->count == 0 || secs->count > TV_MAX_SECTIONS)
		return TV_ERR_SECTION_COUNT;
	for (u32 i = 0; i < secs->count; i++) {
		const struct tv_pal_section *in = &secs->sections[i];
		enum tv_error e = check_section(in, l->caller64);
		if (e != TV_OK)
			return e;
		pages += in->pages;
		l->sections[i] = (struct tv_section){ .type = in->type, .pages = in->pages, .start = gva(in->start) };
		n_code += in->type == TV_PAL_SECTION_CODE;
		if (in->type == TV_PAL_SECTION_PARAM) {
			n_param++;
			l->param_sec = i;
		} else if (in->type == TV_PAL_SECTION_STACK) {
			n_stack++;
			l->stack_sec = i;
		}
	}
	l->n_sections = secs->count;
	if (pages > TV_MAX_PAL_PAGES)
		return TV_ERR_TOO_MANY_PAGES;
	l->pages = (u32)pages;
	for (u32 i = 0; i < l->n_sections; i++)
		for (u32 j = i + 1; j < l->n_sections; j++)
			if (overlap(&l->sections[i], &l->sections[j]))
				return TV_ERR_SECTION_OVERLAP;
	if (n_code == 0 || n_param != 1 || n_stack != 1)
		return TV_ERR_SECTION_MISSING;
	return TV_OK;
}

static bool entry_in_code(const struct tv_pal_layout *l)
{
	for (u32 i = 0; i < l->n_sections; i++) {
		const struct tv_section *s = &l->sections[i];
		if (s->type == TV_PAL_SECTION_CODE && l->entry.v >= s->start.v && l->entry.v < tv_section_end(s))
			return true;
	}
	return false;
}

/* The parameter area (tv_abi.h): u64 count, then per parameter {type, bytes, value} and a
 * POINTER's data, from TV_PARAM_AREA_OFFSET into PARAM. Every sum stays below the PARAM
 * section's size (at most TV_MAX_PAL_PAGES pages), so nothing overflows. */
static enum tv_error check_params(const struct tv_pal_params *params, struct tv_pal_layout *l)
{
	const struct tv_section *param = &l->sections[l->param_sec];
	u64 room = ((u64)param->pages << PAGE_SHIFT) - TV_PARAM_AREA_OFFSET;
	u64 used = TV_PARAM_AREA_HEADER;
	if (params->count > TV_MAX_PARAMS)
		return TV_ERR_PARAM_COUNT;
	for (u32 i = 0; i < params->count; i++) {
		const struct tv_pal_param *in = &params->params[i];
		u64 bytes = 0;
		if (in->type == TV_PAL_PM_POINTER) {
			if (in->size > room / tv_word(l->caller64))
				return TV_ERR_PARAM_SIZE;
			bytes = in->size * tv_word(l->caller64);
		} else if (in->type != TV_PAL_PM_INTEGER) {
			return TV_ERR_PARAM_TYPE;
		}
		used += TV_PARAM_AREA_ENTRY + bytes;
		if (used > room)
			return TV_ERR_PARAM_SIZE;
		l->params[i] = (struct tv_param){ .type = in->type, .bytes = bytes };
	}
	l->n_params = params->count;
	l->area_bytes = used;
	return TV_OK;
}

enum tv_error tv_validate(const struct tv_pal_sections *secs, const struct tv_pal_params *params,
			  gva_t entry, bool caller64, struct tv_pal_layout *out)
{
	*out = (struct tv_pal_layout){ .caller64 = caller64, .entry = entry };
	enum tv_error e = check_sections(secs, out);
	if (e != TV_OK)
		return e;
	if (!entry_in_code(out))
		return TV_ERR_ENTRY_OUTSIDE_CODE;
	return check_params(params, out);
}

enum tv_error tv_parse_registration(const struct tv_guest_mem *caller, gva_t sections, gva_t params,
				    gva_t entry, bool caller64, struct tv_pal_layout *out)
{
	struct tv_pal_sections secs;
	struct tv_pal_params pars;
	if (!caller->read(caller->ctx, sections, &secs, sizeof(secs)) ||
	    !caller->read(caller->ctx, params, &pars, sizeof(pars)))
		return TV_ERR_STRUCT_UNREADABLE;
	return tv_validate(&secs, &pars, entry, caller64, out);
}
