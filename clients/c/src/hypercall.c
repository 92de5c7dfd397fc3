/* hypercall.c: iommu_op with the hypercall's semantics, and errno names. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "internal.h"

/* ---- The hypercall ----------------------------------------------------------------------- */

int pviommu_arg_size(unsigned int subop)
{
    switch (subop) {
    case IOMMU_noop:
    case IOMMU_flush_nested:
        return 0;
    case IOMMU_query_capabilities:
        return (int)sizeof(struct pv_iommu_capabilities);
    case IOMMU_init:
        return (int)sizeof(struct pv_iommu_init);
    case IOMMU_alloc_context:
        return (int)sizeof(struct pv_iommu_alloc);
    case IOMMU_free_context:
        return (int)sizeof(struct pv_iommu_free);
    case IOMMU_reattach_device:
        return (int)sizeof(struct pv_iommu_reattach_device);
    case IOMMU_map_pages:
        return (int)sizeof(struct pv_iommu_map_pages);
    case IOMMU_unmap_pages:
        return (int)sizeof(struct pv_iommu_unmap_pages);
    case IOMMU_remote_cmd:
        return (int)sizeof(struct pv_iommu_remote_cmd);
    case IOMMU_alloc_nested:
        return (int)sizeof(struct pv_iommu_alloc_nested);
    case IOMMU_attach_pasid:
        return (int)sizeof(struct pv_iommu_attach_pasid);
    case IOMMU_detach_pasid:
        return (int)sizeof(struct pv_iommu_detach_pasid);
    case IOMMU_flush_pages:
        return (int)sizeof(struct pv_iommu_flush_pages);
    case IOMMU_lookup_page:
        return (int)sizeof(struct pv_iommu_lookup_page);
    default:
        return -1;
    }
}

int pviommu_iommu_op(pviommu_conn *conn, unsigned int subop, void *arg)
{
    if (conn == NULL)
        return -PV_IOMMU_ENOSYS;
    if (subop > 0xFFFF)
        return -PV_IOMMU_EOPNOTSUPP;
    int size = pviommu_arg_size(subop);
    if (size < 0)
        size = 0; /* unknown: sent without an argument, the hypervisor says -EOPNOTSUPP */
    if (size > 0 && arg == NULL)
        return -PV_IOMMU_EFAULT;

    /* remote_cmd: the remote struct, then the inner struct its handle points at. */
    struct iovec pieces[2];
    int n = 0;
    unsigned char both[sizeof(struct pv_iommu_remote_cmd) + 64];
    void *inner = NULL;
    int inner_size = 0;
    if (subop == IOMMU_remote_cmd) {
        struct pv_iommu_remote_cmd *remote = arg;
        inner = (void *)(uintptr_t)remote->arg;
        inner_size = pviommu_arg_size(remote->subop);
        if (inner_size < 0 || remote->subop == IOMMU_remote_cmd)
            inner_size = 0; /* the hypervisor refuses these before reading an inner struct */
        if (inner_size > 0 && inner == NULL)
            return -PV_IOMMU_EFAULT;
        memcpy(both, remote, sizeof *remote);
        if (inner_size > 0)
            memcpy(both + sizeof *remote, inner, (size_t)inner_size);
        pieces[0].iov_base = both;
        pieces[0].iov_len = sizeof *remote + (size_t)inner_size;
        n = 1;
    } else if (size > 0) {
        pieces[0].iov_base = arg;
        pieces[0].iov_len = (size_t)size;
        n = 1;
    }

    int32_t ret = 0;
    uint32_t sent = n ? (uint32_t)pieces[0].iov_len : 0;
    struct sink out = {n ? pieces[0].iov_base : NULL, sent, 1, NULL, 0, 0};
    pthread_mutex_lock(&conn->lock);
    int rc = pviommu_exchange(conn, PVIOMMU_KIND_HYPERCALL, (uint16_t)subop, 0, pieces, n, &ret, &out);
    pthread_mutex_unlock(&conn->lock);
    if (rc != 0)
        return rc;
    if (subop == IOMMU_remote_cmd && out.got == sent) {
        memcpy(arg, both, sizeof(struct pv_iommu_remote_cmd));
        if (inner_size > 0)
            memcpy(inner, both + sizeof(struct pv_iommu_remote_cmd), (size_t)inner_size);
    }
    return ret;
}

const char *pviommu_strerror(int ret)
{
    switch (-ret) {
    case 0:
        return "0";
    case PV_IOMMU_EPERM:
        return "-EPERM";
    case PV_IOMMU_ENOENT:
        return "-ENOENT";
    case PV_IOMMU_EIO:
        return "-EIO";
    case PV_IOMMU_E2BIG:
        return "-E2BIG";
    case PV_IOMMU_ENOMEM:
        return "-ENOMEM";
    case PV_IOMMU_EACCES:
        return "-EACCES";
    case PV_IOMMU_EFAULT:
        return "-EFAULT";
    case PV_IOMMU_EBUSY:
        return "-EBUSY";
    case PV_IOMMU_ENODEV:
        return "-ENODEV";
    case PV_IOMMU_EINVAL:
        return "-EINVAL";
    case PV_IOMMU_ENOSPC:
        return "-ENOSPC";
    case PV_IOMMU_ERANGE:
        return "-ERANGE";
    case PV_IOMMU_ENOSYS:
        return "-ENOSYS";
    case PV_IOMMU_ERESTART:
        return "-ERESTART";
    case PV_IOMMU_EOPNOTSUPP:
        return "-EOPNOTSUPP";
    case PV_IOMMU_EADDRINUSE:
        return "-EADDRINUSE";
    case PV_IOMMU_EADDRNOTAVAIL:
        return "-EADDRNOTAVAIL";
    case PV_IOMMU_ENOBUFS:
        return "-ENOBUFS";
    default:
        return ret > 0 ? "(positive)" : "(unknown errno)";
    }
}
