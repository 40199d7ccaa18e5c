/* The result codes a TrustVisor hypercall caller gets in RAX (EAX for a 32-bit caller), and a
 * PAL caller when its call cannot be made or the PAL faults (README.md has the same table).
 * 0 is success. The numbers are part of the ABI: never renumber, only append. */
#ifndef TV_ERRORS_H
#define TV_ERRORS_H

enum tv_error {
	TV_OK = 0,
	/* hypercall decoding (tv_hypercall.c) */
	TV_ERR_UNKNOWN_HYPERCALL = 1, /* no such hypercall number */
	TV_ERR_UNSUPPORTED = 2,       /* micro-TPM, NV-RAM and TV_HC_SHARE: not implemented */
	/* TV_HC_REG: the structures (tv_register.c) */
	TV_ERR_STRUCT_UNREADABLE = 3, /* tv_pal_sections / tv_pal_params not readable user memory */
	TV_ERR_SECTION_COUNT = 4,     /* 0 or more than TV_MAX_SECTIONS sections */
	TV_ERR_SECTION_TYPE = 5,      /* not CODE, DATA, PARAM, STACK or SHARED_CODE */
	TV_ERR_SECTION_UNALIGNED = 6, /* start not 4 KiB aligned */
	TV_ERR_SECTION_EMPTY = 7,     /* zero pages */
	TV_ERR_SECTION_RANGE = 8,     /* wraps, or leaves the caller's address space (4 GiB, canonical) */
	TV_ERR_SECTION_SENTINEL = 9,  /* covers page 0, where the sentinel return address 0x4 lies */
	TV_ERR_SECTION_OVERLAP = 10,  /* two sections share a page */
	TV_ERR_SECTION_MISSING = 11,  /* no CODE, or not exactly one PARAM and one STACK */
	TV_ERR_TOO_MANY_PAGES = 12,   /* more than TV_MAX_PAL_PAGES pages in all */
	TV_ERR_ENTRY_OUTSIDE_CODE = 13, /* the entry point is not in a CODE section */
	TV_ERR_PARAM_COUNT = 14,      /* more than TV_MAX_PARAMS parameters */
	TV_ERR_PARAM_TYPE = 15,       /* not INTEGER or POINTER */
	TV_ERR_PARAM_SIZE = 16,       /* the parameter area does not fit in PARAM */
	/* TV_HC_REG: the pages (tv_registry.c) */
	TV_ERR_SECTION_UNMAPPED = 17, /* a page not present in the caller's page tables */
	TV_ERR_SECTION_RIGHTS = 18,   /* a supervisor page, or not writable (DATA/PARAM/STACK) or
				       * not executable (CODE/SHARED_CODE) for the caller */
	TV_ERR_SECTION_NOT_RAM = 19,  /* a page outside guest RAM (hypervisor, MMIO, above --mem) */
	TV_ERR_PAGE_LENT = 20,        /* a page already lent to another PAL */
	TV_ERR_PAGE_ALIASED = 21,     /* two pages of the PAL are the same physical page */
	TV_ERR_ALREADY_REGISTERED = 22, /* a PAL with this entry, CR3 and mode exists */
	TV_ERR_TOO_MANY_PALS = 23,    /* TV_MAX_PALS registered */
	TV_ERR_NO_MEMORY = 24,        /* the hypervisor's pages for the PAL's page tables, or the
				       * EPT01 protection store (memprot_set), ran out */
	/* TV_HC_UNREG */
	TV_ERR_UNKNOWN_ENTRY = 25,    /* no PAL with this entry, CR3 and mode */
	TV_ERR_PAL_BUSY = 26,         /* the PAL is running on a CPU */
	/* a PAL call (tv_marshal.c): the caller's call returns with this in RAX */
	TV_ERR_ARG_UNREADABLE = 27,   /* the return address or a stack argument not readable */
	TV_ERR_ARG_INTO_PAL = 28,     /* a pointer argument's buffer overlaps a PAL's section */
	TV_ERR_ARG_BUFFER = 29,       /* a pointer argument's buffer wraps or is not readable */
	TV_ERR_COPY_BACK = 30,        /* a pointer argument's buffer is no longer writable on return */
	TV_ERR_PAL_FAULT = 31,        /* the PAL took an exception (or was stopped) */
	TV_ERR_RETURN_UNREADABLE = 32, /* no readable return address on the caller's stack: the
					* call cannot return, the fetch is one of PAL memory */
	TV_ERR_PAL_TIMEOUT = 33,      /* the PAL ran past its time budget (TV_PAL_BUDGET_TICKS) */
};

#endif
