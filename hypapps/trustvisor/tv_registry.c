/* The registered PALs: see tv_registry.h. */
#include "tv_registry.h"
#include <xmhf/paging.h>


static u64 cr3_address(u64 cr3, enum tv_paging mode)
{
	switch (mode) {
	case TV_PAGING_32:
		return cr3 & CR3_ADDR_32BIT;
	case TV_PAGING_PAE:
		return cr3 & CR3_ADDR_PAE;
	default: /* 4-level: bits 11:0 are PCID or PWT/PCD, 63 is not stored */
		return cr3 & PT_ADDR_MASK;
	}
}

u64 tv_cr3_key(u64 cr3, enum tv_paging mode, bool l2) { return cr3_address(cr3, mode) | (l2 ? TV_CR3_KEY_L2 : 0); }

void tv_registry_init(struct tv_registry *r)
{
	for (u32 i = 0; i < TV_MAX_PALS; i++)
		r->pals[i] = (struct tv_pal){ .id = i };
}

static bool writable_section(u32 type)
{
	return type == TV_PAL_SECTION_DATA || type == TV_PAL_SECTION_PARAM || type == TV_PAL_SECTION_STACK;
}

static enum tv_error xlate_error(enum tv_xlate x)
{
	switch (x) {
	case TV_XLATE_OK:
		return TV_OK;
	case TV_XLATE_UNMAPPED:
		return TV_ERR_SECTION_UNMAPPED;
	case TV_XLATE_DENIED:
		return TV_ERR_SECTION_RIGHTS;
	default:
		return TV_ERR_SECTION_NOT_RAM;
	}
}

/* Translate every page of the layout into pal->pages. */
static enum tv_error translate_pages(struct tv_pal *pal, const struct tv_translator *t)
{
	const struct tv_pal_layout *l = &pal->layout;
	u32 n = 0;
	for (u32 s = 0; s < l->n_sections; s++) {
		const struct tv_section *sec = &l->sections[s];
		bool write = writable_section(sec->type);
		for (u32 i = 0; i < sec->pages; i++, n++) {
			struct tv_page *p = &pal->pages[n];
			p->gva = gva(sec->start.v + ((u64)i << PAGE_SHIFT));
			p->type = sec->type;
			enum tv_error e = xlate_error(t->translate(t->ctx, p->gva, write, !write, &p->gpa));
			if (e != TV_OK)
				return e;
			p->gpa = l1_gpa(ALIGN_DOWN(p->gpa.v, PAGE_SIZE));
		}
	}
	return TV_OK;
}

static enum tv_error check_pages(const struct tv_registry *r, const struct tv_pal *pal)
{
	for (u32 i = 0; i < pal->layout.pages; i++) {
		if (tv_registry_owner(r, pal->pages[i].gpa, NULL))
			return TV_ERR_PAGE_LENT;
		for (u32 j = 0; j < i; j++)
			if (pal->pages[j].gpa.v == pal->pages[i].gpa.v)
				return TV_ERR_PAGE_ALIASED;
	}
	return TV_OK;
}

enum tv_error tv_registry_add(struct tv_registry *r, const struct tv_pal_layout *l, u64 cr3_key,
			      const struct tv_translator *t, struct tv_pal **out)
{
	struct tv_pal *pal = NULL;
	if (tv_registry_find(r, l->entry, cr3_key, l->caller64))
		return TV_ERR_ALREADY_REGISTERED;
	for (u32 i = 0; i < TV_MAX_PALS && !pal; i++)
		if (!r->pals[i].used)
			pal = &r->pals[i];
	if (!pal)
		return TV_ERR_TOO_MANY_PALS;
	pal->layout = *l;
	pal->cr3_key = cr3_key;
	pal->running = 0;
	enum tv_error e = translate_pages(pal, t);
	if (e == TV_OK)
		e = check_pages(r, pal);
	if (e != TV_OK)
		return e; /* the slot stays unused */
	pal->used = true;
	*out = pal;
	return TV_OK;
}

struct tv_pal *tv_registry_find(struct tv_registry *r, gva_t entry, u64 cr3_key, bool caller64)
{
	for (u32 i = 0; i < TV_MAX_PALS; i++) {
		struct tv_pal *pal = &r->pals[i];
		if (pal->used && pal->layout.entry.v == entry.v && pal->cr3_key == cr3_key &&
		    pal->layout.caller64 == caller64)
			return pal;
	}
	return NULL;
}

const struct tv_pal *tv_registry_owner(const struct tv_registry *r, l1_gpa_t gpa, const struct tv_page **page)
{
	u64 frame = ALIGN_DOWN(gpa.v, PAGE_SIZE);
	for (u32 i = 0; i < TV_MAX_PALS; i++) {
		const struct tv_pal *pal = &r->pals[i];
		for (u32 j = 0; pal->used && j < pal->layout.pages; j++) {
			if (pal->pages[j].gpa.v != frame)
				continue;
			if (page)
				*page = &pal->pages[j];
			return pal;
		}
	}
	return NULL;
}

const struct tv_page *tv_pal_page(const struct tv_pal *pal, gva_t va)
{
	u32 first = 0; /* the section's first page in pal->pages */
	for (u32 s = 0; s < pal->layout.n_sections; s++) {
		const struct tv_section *sec = &pal->layout.sections[s];
		if (sec->start.v <= va.v && va.v < tv_section_end(sec))
			return &pal->pages[first + ((va.v - sec->start.v) >> PAGE_SHIFT)];
		first += sec->pages;
	}
	return NULL;
}

bool tv_registry_covers(const struct tv_registry *r, u64 cr3_key, gva_t va, u64 len)
{
	if (len > ~va.v)
		return true;
	for (u32 i = 0; i < TV_MAX_PALS; i++) {
		const struct tv_pal *pal = &r->pals[i];
		if (!pal->used || pal->cr3_key != cr3_key)
			continue;
		for (u32 s = 0; s < pal->layout.n_sections; s++) {
			const struct tv_section *sec = &pal->layout.sections[s];
			if (len && va.v < tv_section_end(sec) && sec->start.v < va.v + len)
				return true;
		}
	}
	return false;
}

static void release(struct tv_pal *pal, const struct tv_page_sink *sink)
{
	for (u32 i = 0; i < pal->layout.pages; i++)
		sink->page(sink->ctx, &pal->pages[i]);
	pal->used = false;
	pal->running = 0;
}

enum tv_error tv_registry_remove(struct tv_registry *r, gva_t entry, u64 cr3_key, bool caller64,
				 const struct tv_page_sink *sink)
{
	struct tv_pal *pal = tv_registry_find(r, entry, cr3_key, caller64);
	if (!pal)
		return TV_ERR_UNKNOWN_ENTRY;
	if (pal->running)
		return TV_ERR_PAL_BUSY;
	release(pal, sink);
	return TV_OK;
}

void tv_registry_clear(struct tv_registry *r, const struct tv_page_sink *sink)
{
	for (u32 i = 0; i < TV_MAX_PALS; i++)
		if (r->pals[i].used)
			release(&r->pals[i], sink);
}
