/* A task's state to and from 32-bit and 16-bit TSSes (SDM Vol. 3 7.2.1,
 * 7.6). */
#include <runtime/task_switch_tss.h>

enum { ES, CS, SS, DS, FS, GS };

/* A 16-bit TSS has no FS, GS, CR3 or T flag (null selectors, CR3 kept,
 * 7.6); IP and FLAGS are zero-extended, and the upper halves of the GPRs,
 * which 7.6 leaves undefined, are FFFFH as Bochs and QEMU make them. */
struct task_image tss_read_image(const union tss *tss, bool wide)
{
	struct task_image img = { 0 };
	if (wide) {
		img.eip = tss->t32.eip;
		img.eflags = tss->t32.eflags;
		for (u32 i = 0; i < 8; i++)
			img.gpr[i] = tss->t32.gpr[i];
		for (u32 s = ES; s <= GS; s++)
			img.seg[s] = tss->t32.seg[s].sel;
		img.ldt = tss->t32.ldt;
		img.cr3 = tss->t32.cr3;
		img.trap = tss->t32.trap & 1;
	} else {
		img.eip = tss->t16.ip;
		img.eflags = tss->t16.flags;
		for (u32 i = 0; i < 8; i++)
			img.gpr[i] = 0xffff0000u | tss->t16.gpr[i];
		for (u32 s = ES; s <= DS; s++)
			img.seg[s] = tss->t16.seg[s];
		img.ldt = tss->t16.ldt;
	}
	return img;
}

/* A 16-bit TSS keeps the low halves of EIP, EFLAGS and the GPRs, and
 * ES .. DS (7.6). */
void tss_store_image(union tss *tss, bool wide, const struct task_image *img)
{
	if (wide) {
		tss->t32.eip = img->eip;
		tss->t32.eflags = img->eflags;
		for (u32 i = 0; i < 8; i++)
			tss->t32.gpr[i] = img->gpr[i];
		for (u32 s = ES; s <= GS; s++)
			tss->t32.seg[s].sel = img->seg[s];
	} else {
		tss->t16.ip = (u16)img->eip;
		tss->t16.flags = (u16)img->eflags;
		for (u32 i = 0; i < 8; i++)
			tss->t16.gpr[i] = (u16)img->gpr[i];
		for (u32 s = ES; s <= DS; s++)
			tss->t16.seg[s] = img->seg[s];
	}
}
