/* test_hypercall.c: pv_iommu_op with the hypercall's semantics, over the socket. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <string.h>

#include "check.h"

static void *noops(void *arg)
{
    pviommu_conn *conn = test_open((uint16_t)(uintptr_t)arg);
    for (int i = 0; i < 200; i++) {
        struct pv_iommu_capabilities caps = {0};
        if (pviommu_iommu_op(conn, IOMMU_noop, NULL) != 0 || pviommu_iommu_op(conn, IOMMU_query_capabilities, &caps) != 0
            || caps.pgsize_mask != PV_IOMMU_PGSIZE_MASK)
            return (void *)1;
    }
    pviommu_close(conn);
    return NULL;
}

int main(void)
{
    /* Before a connection there is no hypercall. */
    CHECK_RET(-PV_IOMMU_ENOSYS, pv_iommu_op(IOMMU_noop, NULL));
    CHECK_RET(0, pviommu_connect(NULL, 0));
    CHECK(pviommu_server_caps(pviommu_default_conn()) == (PVIOMMU_CAP_MEMORY | PVIOMMU_CAP_DMA | PVIOMMU_CAP_HOST_INFO));
    CHECK_RET(0, HYPERVISOR_iommu_op(IOMMU_noop, NULL));

    /* query_capabilities: a freshly booted host reports max_ctx_no 0; pad0 comes back 0. */
    struct pv_iommu_capabilities caps;
    memset(&caps, 0xA5, sizeof caps);
    CHECK_RET(0, pv_iommu_op(IOMMU_query_capabilities, &caps));
    CHECK(caps.max_ctx_no == 0 && caps.pad0 == 0 && caps.max_pasid == 0);
    CHECK(caps.pgsize_mask == PV_IOMMU_PGSIZE_MASK);
    CHECK(caps.max_iova_addr == (1ULL << 48) - 1);
    CHECK((caps.cap_flags & (IOMMUCAP_identity | IOMMUCAP_deferred_flush | IOMMUCAP_lookup)) != 0);
    CHECK_RET(-PV_IOMMU_EFAULT, pv_iommu_op(IOMMU_query_capabilities, NULL));

    /* Unknown and declared-only sub-ops. */
    CHECK_RET(-PV_IOMMU_EOPNOTSUPP, pv_iommu_op(15, NULL));
    CHECK_RET(-PV_IOMMU_EOPNOTSUPP, pv_iommu_op(0x10000, NULL));
    struct pv_iommu_alloc_nested nested = {0};
    CHECK_RET(-PV_IOMMU_EOPNOTSUPP, pv_iommu_op(IOMMU_alloc_nested, &nested));

    /* init: limits checked, one-shot. */
    struct pv_iommu_init init = {.max_ctx_no = 0, .arena_order = 10};
    CHECK_RET(-PV_IOMMU_E2BIG, pv_iommu_op(IOMMU_init, &init));
    init.max_ctx_no = 8;
    CHECK_RET(0, pv_iommu_op(IOMMU_init, &init));
    CHECK_RET(-PV_IOMMU_EACCES, pv_iommu_op(IOMMU_init, &init));
    CHECK_RET(0, pv_iommu_op(IOMMU_query_capabilities, &caps));
    CHECK(caps.max_ctx_no == 8);

    /* A context, a device in it, a mapping, a lookup, an unmap, a free. */
    uint64_t gfn = first_ram_gfn(pviommu_default_conn(), 0);
    struct pv_iommu_alloc alloc = {0};
    CHECK_RET(0, pv_iommu_op(IOMMU_alloc_context, &alloc));
    CHECK(alloc.ctx_no == 1);
    struct pv_iommu_reattach_device reattach = {.ctx_no = alloc.ctx_no, .dev = dom0_nic};
    CHECK_RET(0, pv_iommu_op(IOMMU_reattach_device, &reattach));
    struct pv_iommu_map_pages map = {.ctx_no = alloc.ctx_no, .gfn = gfn, .dfn = 0x1000,
        .map_flags = IOMMU_MAP_readable | IOMMU_MAP_writeable, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = 4};
    CHECK_RET(0, pv_iommu_op(IOMMU_map_pages, &map));
    CHECK(map.mapped == 4);
    map.mapped = 0;
    CHECK_RET(-PV_IOMMU_EADDRINUSE, pv_iommu_op(IOMMU_map_pages, &map));
    CHECK(map.mapped == 0);
    struct pv_iommu_lookup_page lookup = {.ctx_no = alloc.ctx_no, .dfn = 0x1002};
    CHECK_RET(0, pv_iommu_op(IOMMU_lookup_page, &lookup));
    CHECK(lookup.gfn == gfn + 2 && lookup.pgsize == PV_IOMMU_PGSIZE_4K);
    CHECK((lookup.map_flags & (IOMMU_MAP_readable | IOMMU_MAP_writeable)) == (IOMMU_MAP_readable | IOMMU_MAP_writeable));
    struct pv_iommu_unmap_pages unmap = {.ctx_no = alloc.ctx_no, .dfn = 0x1000, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = 4};
    CHECK_RET(0, pv_iommu_op(IOMMU_unmap_pages, &unmap));
    CHECK(unmap.unmapped == 4);
    CHECK_RET(-PV_IOMMU_ENOENT, pv_iommu_op(IOMMU_lookup_page, &lookup));
    struct pv_iommu_free release = {.ctx_no = alloc.ctx_no};
    CHECK_RET(-PV_IOMMU_EBUSY, pv_iommu_op(IOMMU_free_context, &release));
    release.free_flags = IOMMU_FREE_reattach_default;
    CHECK_RET(0, pv_iommu_op(IOMMU_free_context, &release));

    /* remote_cmd: the remote struct, then the inner struct its handle points at. */
    struct pv_iommu_capabilities remote_caps = {0};
    struct pv_iommu_remote_cmd remote = {.domid = 1, .subop = IOMMU_query_capabilities,
        .arg = (uint64_t)(uintptr_t)&remote_caps};
    CHECK_RET(0, pv_iommu_op(IOMMU_remote_cmd, &remote));
    CHECK(remote_caps.max_ctx_no == 0 && remote_caps.pgsize_mask == PV_IOMMU_PGSIZE_MASK);
    CHECK(remote.domid == 1 && remote.arg == (uint64_t)(uintptr_t)&remote_caps);
    struct pv_iommu_init remote_init = {.max_ctx_no = 2, .arena_order = 4};
    remote.subop = IOMMU_init;
    remote.arg = (uint64_t)(uintptr_t)&remote_init;
    CHECK_RET(0, pv_iommu_op(IOMMU_remote_cmd, &remote));
    remote.arg = 0;
    CHECK_RET(-PV_IOMMU_EFAULT, pv_iommu_op(IOMMU_remote_cmd, &remote));
    remote.subop = IOMMU_remote_cmd;
    CHECK_RET(-PV_IOMMU_EINVAL, pv_iommu_op(IOMMU_remote_cmd, &remote));

    /* The DomU is caps-only: it sees the remote init, may not init itself or remote_cmd. */
    pviommu_conn *domu = test_open(1);
    CHECK_RET(0, pviommu_iommu_op(domu, IOMMU_query_capabilities, &caps));
    CHECK(caps.max_ctx_no == 2);
    CHECK_RET(-PV_IOMMU_EPERM, pviommu_iommu_op(domu, IOMMU_init, &init));
    remote.subop = IOMMU_query_capabilities;
    remote.arg = (uint64_t)(uintptr_t)&remote_caps;
    CHECK_RET(-PV_IOMMU_EPERM, pviommu_iommu_op(domu, IOMMU_remote_cmd, &remote));
    pviommu_close(domu);

    /* An opening for a domain that does not exist. */
    pviommu_conn *none = NULL;
    CHECK_RET(-PV_IOMMU_ENOENT, pviommu_open(&none, test_socket(), 77));
    CHECK(none == NULL);

    /* Four vCPUs (two per domain) at once. */
    pthread_t threads[4];
    for (uintptr_t i = 0; i < 4; i++)
        CHECK(pthread_create(&threads[i], NULL, noops, (void *)(i % 2)) == 0);
    for (int i = 0; i < 4; i++) {
        void *failed = NULL;
        pthread_join(threads[i], &failed);
        CHECK(failed == NULL);
    }

    pviommu_disconnect();
    CHECK_RET(-PV_IOMMU_ENOSYS, pv_iommu_op(IOMMU_noop, NULL));
    printf("test_hypercall: %d checks passed\n", checks_run);
    return 0;
}
