/* The guest's memory as the hypervisor may touch it: see guest_ram.h. */
#include <config.h>
#include <runtime/ept01.h>
#include <runtime/guest_ram.h>
#include <runtime/percpu.h>
#include <xmhf/check.h>

extern const u8 __runtime_base[], __reserved_end[];

/* Every range boundary: two per E820 entry and device, the hypervisor's
 * range, CONFIG_MEM. */
#define MAX_POINTS (2 * E820_MAX + 2 * GUEST_RAM_MAX_DEVICES + 3)

/* Sorted, disjoint, non-adjacent [base, end) ranges (at most one per
 * interval between two boundaries). */
static struct { u64 base, end; } ram[MAX_POINTS];
static u32 n_ram;

static u64 end_of(u64 base, u64 length) { return length > UINT64_MAX - base ? UINT64_MAX : base + length; }

static bool is_memory(u32 type) { return type == E820_RAM || type == E820_ACPI || type == E820_NVS; }

static bool inside(u64 a, u64 base, u64 end) { return base <= a && a < end; }

/* Whether the byte at a is guest memory: covered by a memory entry and by
 * no other entry (as e820_is_ram), and by nothing the hypervisor keeps. */
static bool byte_is_ram(const struct e820_map *m, const struct pt_range *dev, u32 n_dev, u64 a)
{
	bool memory = false;

	if (a >= CONFIG_MEM || inside(a, (u64)__runtime_base, (u64)__reserved_end))
		return false;
	for (u32 i = 0; i < n_dev; i++)
		if (inside(a, dev[i].base, end_of(dev[i].base, dev[i].size)))
			return false;
	for (u32 i = 0; i < m->n; i++) {
		if (!inside(a, m->e[i].base, end_of(m->e[i].base, m->e[i].length)))
			continue;
		if (!is_memory(m->e[i].type))
			return false;
		memory = true;
	}
	return memory;
}

static void add_point(u64 *points, u32 *n, u64 p)
{
	u32 i = *n;

	for (; i > 0 && points[i - 1] > p; i--) /* insertion sort, no duplicates */
		points[i] = points[i - 1];
	if (i > 0 && points[i - 1] == p) {
		for (; i < *n; i++)
			points[i] = points[i + 1];
		return;
	}
	points[i] = p;
	(*n)++;
}

void guest_ram_init(const struct e820_map *m, const struct pt_range *devices, u32 n_devices)
{
	u64 points[MAX_POINTS];
	u32 n = 0;

	CHECK(m->n <= E820_MAX && n_devices <= GUEST_RAM_MAX_DEVICES);
	add_point(points, &n, (u64)__runtime_base);
	add_point(points, &n, (u64)__reserved_end);
	add_point(points, &n, CONFIG_MEM);
	for (u32 i = 0; i < m->n; i++) {
		add_point(points, &n, m->e[i].base);
		add_point(points, &n, end_of(m->e[i].base, m->e[i].length));
	}
	for (u32 i = 0; i < n_devices; i++) {
		add_point(points, &n, devices[i].base);
		add_point(points, &n, end_of(devices[i].base, devices[i].size));
	}
	/* Memory starts at a boundary; [0, first point) is in no entry. The
	 * last interval, [points[n-1], 2^64), lies above CONFIG_MEM. */
	n_ram = 0;
	for (u32 i = 0; i + 1 < n; i++) {
		if (!byte_is_ram(m, devices, n_devices, points[i]))
			continue;
		if (n_ram && ram[n_ram - 1].end == points[i])
			ram[n_ram - 1].end = points[i + 1];
		else
			ram[n_ram].base = points[i], ram[n_ram++].end = points[i + 1];
	}
}

bool guest_ram_contains(l1_gpa_t gpa, u64 size)
{
	u32 lo = 0, hi = n_ram;

	while (lo < hi) { /* the first range that ends above gpa */
		u32 mid = lo + (hi - lo) / 2;
		if (ram[mid].end <= gpa.v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return size && lo < n_ram && ram[lo].base <= gpa.v && size <= ram[lo].end - gpa.v;
}

void *guest_ram_ptr(l1_gpa_t gpa, u64 size)
{
	u64 apic = this_cpu()->ept_apic_page.v;

	if (!guest_ram_contains(gpa, size))
		return NULL;
	/* A guest that moved its APIC into RAM made that page MMIO for this
	 * CPU (SDM Vol. 3 "Relocating the Local APIC Registers"). gpa + size
	 * does not wrap: it is inside a range. */
	if (apic != EPT01_NO_APIC_PAGE && apic < gpa.v + size && gpa.v < apic + PAGE_SIZE)
		return NULL;
	return l1_gpa_to_ptr(gpa);
}
