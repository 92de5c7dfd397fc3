/*
 * pv-iommu.h: the PV-IOMMU hypercall ABI (iommu_op) as the pviommu project implements it.
 *
 * Written for this project from its specification (docs/abi.md and the project's spec,
 * section 2). Layouts are those of x86-64, little-endian; every 64-bit field is 8-byte aligned
 * on every target so that a 32-bit build sees the same bytes. Padding that upstream Xen leaves
 * implicit is declared here as pad0/pad1: zero it (an initialiser does), the hypervisor
 * ignores it on input and writes it back as zero.
 *
 * The numbers, names, sizes and offsets below are frozen: tests/PvIommu.Abi.Tests compiles this
 * header, prints every sizeof and offsetof and compares them with the C# catalogue.
 *
 * Usage, on Xen or over the pviommu socket:
 *     struct pv_iommu_map_pages op = { .ctx_no = ctx, .gfn = gfn, .dfn = dfn,
 *         .map_flags = IOMMU_MAP_readable | IOMMU_MAP_writeable,
 *         .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = n };
 *     ret = HYPERVISOR_iommu_op(IOMMU_map_pages, &op);   returns 0 or -PV_IOMMU_E...
 */

#ifndef PV_IOMMU_H
#define PV_IOMMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define PV_IOMMU_ALIGN8 alignas(8)
#define PV_IOMMU_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define PV_IOMMU_ALIGN8 _Alignas(8)
#define PV_IOMMU_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---- Hypercall numbers ------------------------------------------------------------------- */

#ifndef __HYPERVISOR_iommu_op
#define __HYPERVISOR_iommu_op 43 /* iommu_op(unsigned int subop, void *arg) */
#endif
#ifndef __HYPERVISOR_multicall
#define __HYPERVISOR_multicall 13 /* batches calls; their IOTLB flushes are merged */
#endif

/* ---- Sub-ops (first argument of iommu_op) --------------------------------------------------- */

#define IOMMU_noop 0               /* no argument */
#define IOMMU_query_capabilities 1 /* struct pv_iommu_capabilities */
#define IOMMU_init 2               /* struct pv_iommu_init */
#define IOMMU_alloc_context 3      /* struct pv_iommu_alloc */
#define IOMMU_free_context 4       /* struct pv_iommu_free */
#define IOMMU_reattach_device 5    /* struct pv_iommu_reattach_device */
#define IOMMU_map_pages 6          /* struct pv_iommu_map_pages */
#define IOMMU_unmap_pages 7        /* struct pv_iommu_unmap_pages */
#define IOMMU_remote_cmd 8         /* struct pv_iommu_remote_cmd */
#define IOMMU_alloc_nested 9       /* declared, returns -EOPNOTSUPP */
#define IOMMU_flush_nested 10      /* declared, returns -EOPNOTSUPP (no argument) */
#define IOMMU_attach_pasid 11      /* declared, returns -EOPNOTSUPP */
#define IOMMU_detach_pasid 12      /* declared, returns -EOPNOTSUPP */
#define IOMMU_flush_pages 13       /* extension: struct pv_iommu_flush_pages */
#define IOMMU_lookup_page 14       /* extension: struct pv_iommu_lookup_page */

/* ---- Context numbers and limits ---------------------------------------------------------- */

#define IOMMU_DEFAULT_CONTEXT 0        /* Xen-managed; map/unmap/free on it give -EINVAL */
#define IOMMU_NO_CONTEXT 0xFFFF        /* "none": never allocated */
#define PV_IOMMU_MAX_CONTEXTS 65534    /* largest init max_ctx_no */
#define PV_IOMMU_MAX_ARENA_ORDER 20    /* largest init arena_order */

/* ---- Page sizes (pgsize, pgsize_mask) --------------------------------------------------- */

#define PV_IOMMU_PGSIZE_4K (1U << 12)
#define PV_IOMMU_PGSIZE_2M (1U << 21)
#define PV_IOMMU_PGSIZE_1G (1U << 30)
#define PV_IOMMU_PGSIZE_MASK (PV_IOMMU_PGSIZE_4K | PV_IOMMU_PGSIZE_2M | PV_IOMMU_PGSIZE_1G)

/* ---- Flag bits; any other set bit gives -EINVAL ------------------------------------------- */

/* cap_flags of struct pv_iommu_capabilities */
#define IOMMUCAP_default_identity (1U << 0) /* context 0 lets devices reach domain memory */
#define IOMMUCAP_cache (1U << 1)            /* IOMMU_MAP_cache honoured */
#define IOMMUCAP_nested (1U << 2)           /* alloc_nested, flush_nested */
#define IOMMUCAP_pasid (1U << 3)            /* attach_pasid, detach_pasid, reattach pasid */
#define IOMMUCAP_identity (1U << 4)         /* IOMMU_ALLOC_identity works */
#define IOMMUCAP_deferred_flush (1U << 5)   /* IOMMU_MAP_no_flush and flush_pages work */
#define IOMMUCAP_lookup (1U << 6)           /* lookup_page works */

/* alloc_flags of struct pv_iommu_alloc */
#define IOMMU_ALLOC_identity (1U << 0) /* map all domain RAM at dfn = gfn, kept in sync */

/* free_flags of struct pv_iommu_free */
#define IOMMU_FREE_reattach_default (1U << 0) /* move devices to context 0 instead of -EBUSY */

/* map_flags of struct pv_iommu_map_pages and struct pv_iommu_lookup_page */
#define IOMMU_MAP_readable (1U << 0)
#define IOMMU_MAP_writeable (1U << 1)
#define IOMMU_MAP_cache (1U << 2)
#define IOMMU_MAP_no_flush (1U << 3) /* caller calls flush_pages before relying on the map */

/* ---- Xen errno values (a call returns 0 or the negative of one of these) ------------------ */

#define PV_IOMMU_EPERM 1
#define PV_IOMMU_ENOENT 2
#define PV_IOMMU_EIO 5
#define PV_IOMMU_E2BIG 7
#define PV_IOMMU_ENOMEM 12
#define PV_IOMMU_EACCES 13
#define PV_IOMMU_EFAULT 14
#define PV_IOMMU_EBUSY 16
#define PV_IOMMU_ENODEV 19
#define PV_IOMMU_EINVAL 22
#define PV_IOMMU_ENOSPC 28
#define PV_IOMMU_ERANGE 34
#define PV_IOMMU_ENOSYS 38
#define PV_IOMMU_ERESTART 85 /* internal: a guest never sees it */
#define PV_IOMMU_EOPNOTSUPP 95
#define PV_IOMMU_EADDRINUSE 98
#define PV_IOMMU_EADDRNOTAVAIL 99
#define PV_IOMMU_ENOBUFS 105

/* ---- Argument structs (IN: read by Xen, OUT: written, INOUT: both) ----------------------- */

/* A PCI device, laid out as Xen's struct physdev_pci_device (size 4, align 2). */
struct pv_iommu_pci_device {
    uint16_t seg;
    uint8_t bus;
    uint8_t devfn; /* device << 3 | function */
};

/* IOMMU_query_capabilities: all OUT (size 24). */
struct pv_iommu_capabilities {
    PV_IOMMU_ALIGN8 uint64_t max_iova_addr; /* highest device address contexts accept */
    uint32_t cap_flags;                     /* IOMMUCAP_* */
    uint32_t pgsize_mask;                   /* supported page sizes, PV_IOMMU_PGSIZE_* */
    uint32_t max_pasid;                     /* 0: no PASID */
    uint16_t max_ctx_no;                    /* non-default contexts usable (0 before init) */
    uint16_t pad0;
};

/* IOMMU_init: one-shot per domain limits (size 8). */
struct pv_iommu_init {
    uint32_t max_ctx_no;  /* IN: 1..PV_IOMMU_MAX_CONTEXTS */
    uint32_t arena_order; /* IN: arena of 2^order pages, 0..PV_IOMMU_MAX_ARENA_ORDER */
};

/* IOMMU_alloc_context (size 8). */
struct pv_iommu_alloc {
    uint16_t ctx_no;      /* OUT: the context allocated */
    uint16_t pad0;
    uint32_t alloc_flags; /* IN: IOMMU_ALLOC_* */
};

/* IOMMU_free_context (size 8). */
struct pv_iommu_free {
    uint16_t ctx_no;     /* IN: not IOMMU_DEFAULT_CONTEXT */
    uint16_t pad0;
    uint32_t free_flags; /* IN: IOMMU_FREE_* */
};

/* IOMMU_reattach_device: move a device (and its phantom functions) to ctx_no (size 12). */
struct pv_iommu_reattach_device {
    uint16_t ctx_no;                /* IN: target context, 0 always valid */
    struct pv_iommu_pci_device dev; /* IN */
    uint16_t pad0;
    uint32_t pasid;                 /* IN: must be 0 */
};

/* IOMMU_map_pages: nr_pages pages of pgsize, gfn -> dfn (size 40). */
struct pv_iommu_map_pages {
    uint16_t ctx_no;              /* IN: not IOMMU_DEFAULT_CONTEXT */
    uint8_t pad0[6];
    PV_IOMMU_ALIGN8 uint64_t gfn; /* INOUT: advanced on preemption */
    PV_IOMMU_ALIGN8 uint64_t dfn; /* INOUT: advanced on preemption */
    uint32_t map_flags;           /* IN: IOMMU_MAP_* */
    uint32_t pgsize;              /* IN: one bit of pgsize_mask */
    uint32_t nr_pages;            /* INOUT: reduced on preemption */
    uint32_t mapped;              /* INOUT: increased by the pages mapped; zero it first */
};

/* IOMMU_unmap_pages (size 32). */
struct pv_iommu_unmap_pages {
    uint16_t ctx_no;              /* IN: not IOMMU_DEFAULT_CONTEXT */
    uint8_t pad0[6];
    PV_IOMMU_ALIGN8 uint64_t dfn; /* INOUT: advanced on preemption */
    uint32_t pgsize;              /* IN: one bit of pgsize_mask */
    uint32_t nr_pages;            /* INOUT: reduced on preemption */
    uint32_t unmapped;            /* INOUT: increased by the pages unmapped; zero it first */
    uint32_t pad1;
};

/* IOMMU_remote_cmd: run subop on domain domid with the caller's rights (size 16). */
struct pv_iommu_remote_cmd {
    uint16_t domid;               /* IN: target domain */
    uint16_t subop;               /* IN: inner sub-op, not IOMMU_remote_cmd */
    uint32_t pad0;
    PV_IOMMU_ALIGN8 uint64_t arg; /* IN: guest handle, (uintptr_t)&inner; inner is INOUT */
};

/* IOMMU_alloc_nested: declared upstream, not implemented (size 24). */
struct pv_iommu_alloc_nested {
    uint16_t ctx_no;                       /* OUT */
    uint8_t pad0[6];
    PV_IOMMU_ALIGN8 uint64_t pgtable_gfn;  /* IN */
    PV_IOMMU_ALIGN8 uint64_t nested_flags; /* IN */
};

/* IOMMU_attach_pasid: declared upstream, not implemented (size 12). */
struct pv_iommu_attach_pasid {
    uint16_t ctx_no;                /* IN */
    struct pv_iommu_pci_device dev; /* IN */
    uint16_t pad0;
    uint32_t pasid;                 /* IN */
};

/* IOMMU_detach_pasid: declared upstream, not implemented (size 8). */
struct pv_iommu_detach_pasid {
    struct pv_iommu_pci_device dev; /* IN */
    uint32_t pasid;                 /* IN */
};

/* IOMMU_flush_pages (extension): invalidate the IOTLB after IOMMU_MAP_no_flush (size 24). */
struct pv_iommu_flush_pages {
    uint16_t ctx_no;              /* IN */
    uint8_t pad0[6];
    PV_IOMMU_ALIGN8 uint64_t dfn; /* INOUT: advanced on preemption */
    uint32_t pgsize;              /* IN */
    uint32_t nr_pages;            /* INOUT: reduced on preemption */
};

/* IOMMU_lookup_page (extension): read one translation back (size 32). */
struct pv_iommu_lookup_page {
    uint16_t ctx_no;              /* IN */
    uint8_t pad0[6];
    PV_IOMMU_ALIGN8 uint64_t dfn; /* IN */
    PV_IOMMU_ALIGN8 uint64_t gfn; /* OUT */
    uint32_t map_flags;           /* OUT: IOMMU_MAP_readable/writeable/cache */
    uint32_t pgsize;              /* OUT: size of the leaf that maps dfn */
};

/* ---- Layout checks: a failure here means the compiler does not lay the ABI out right ------ */

#define PV_IOMMU_CHECK_SIZE(s, n) PV_IOMMU_STATIC_ASSERT(sizeof(struct s) == (n), #s " size")
#define PV_IOMMU_CHECK_OFFSET(s, f, n) \
    PV_IOMMU_STATIC_ASSERT(offsetof(struct s, f) == (n), #s "." #f " offset")

PV_IOMMU_CHECK_SIZE(pv_iommu_pci_device, 4);
PV_IOMMU_CHECK_OFFSET(pv_iommu_pci_device, seg, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_pci_device, bus, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_pci_device, devfn, 3);

PV_IOMMU_CHECK_SIZE(pv_iommu_capabilities, 24);
PV_IOMMU_CHECK_OFFSET(pv_iommu_capabilities, max_iova_addr, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_capabilities, cap_flags, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_capabilities, pgsize_mask, 12);
PV_IOMMU_CHECK_OFFSET(pv_iommu_capabilities, max_pasid, 16);
PV_IOMMU_CHECK_OFFSET(pv_iommu_capabilities, max_ctx_no, 20);
PV_IOMMU_CHECK_OFFSET(pv_iommu_capabilities, pad0, 22);

PV_IOMMU_CHECK_SIZE(pv_iommu_init, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_init, max_ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_init, arena_order, 4);

PV_IOMMU_CHECK_SIZE(pv_iommu_alloc, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc, alloc_flags, 4);

PV_IOMMU_CHECK_SIZE(pv_iommu_free, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_free, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_free, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_free, free_flags, 4);

PV_IOMMU_CHECK_SIZE(pv_iommu_reattach_device, 12);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, dev, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, dev.seg, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, dev.bus, 4);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, dev.devfn, 5);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, pad0, 6);
PV_IOMMU_CHECK_OFFSET(pv_iommu_reattach_device, pasid, 8);

PV_IOMMU_CHECK_SIZE(pv_iommu_map_pages, 40);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, gfn, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, dfn, 16);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, map_flags, 24);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, pgsize, 28);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, nr_pages, 32);
PV_IOMMU_CHECK_OFFSET(pv_iommu_map_pages, mapped, 36);

PV_IOMMU_CHECK_SIZE(pv_iommu_unmap_pages, 32);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, dfn, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, pgsize, 16);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, nr_pages, 20);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, unmapped, 24);
PV_IOMMU_CHECK_OFFSET(pv_iommu_unmap_pages, pad1, 28);

PV_IOMMU_CHECK_SIZE(pv_iommu_remote_cmd, 16);
PV_IOMMU_CHECK_OFFSET(pv_iommu_remote_cmd, domid, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_remote_cmd, subop, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_remote_cmd, pad0, 4);
PV_IOMMU_CHECK_OFFSET(pv_iommu_remote_cmd, arg, 8);

PV_IOMMU_CHECK_SIZE(pv_iommu_alloc_nested, 24);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc_nested, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc_nested, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc_nested, pgtable_gfn, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_alloc_nested, nested_flags, 16);

PV_IOMMU_CHECK_SIZE(pv_iommu_attach_pasid, 12);
PV_IOMMU_CHECK_OFFSET(pv_iommu_attach_pasid, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_attach_pasid, dev, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_attach_pasid, pad0, 6);
PV_IOMMU_CHECK_OFFSET(pv_iommu_attach_pasid, pasid, 8);

PV_IOMMU_CHECK_SIZE(pv_iommu_detach_pasid, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_detach_pasid, dev, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_detach_pasid, pasid, 4);

PV_IOMMU_CHECK_SIZE(pv_iommu_flush_pages, 24);
PV_IOMMU_CHECK_OFFSET(pv_iommu_flush_pages, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_flush_pages, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_flush_pages, dfn, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_flush_pages, pgsize, 16);
PV_IOMMU_CHECK_OFFSET(pv_iommu_flush_pages, nr_pages, 20);

PV_IOMMU_CHECK_SIZE(pv_iommu_lookup_page, 32);
PV_IOMMU_CHECK_OFFSET(pv_iommu_lookup_page, ctx_no, 0);
PV_IOMMU_CHECK_OFFSET(pv_iommu_lookup_page, pad0, 2);
PV_IOMMU_CHECK_OFFSET(pv_iommu_lookup_page, dfn, 8);
PV_IOMMU_CHECK_OFFSET(pv_iommu_lookup_page, gfn, 16);
PV_IOMMU_CHECK_OFFSET(pv_iommu_lookup_page, map_flags, 24);
PV_IOMMU_CHECK_OFFSET(pv_iommu_lookup_page, pgsize, 28);

#ifdef __cplusplus
}
#endif

#endif /* PV_IOMMU_H */
