/* test_memory_dma.c: the domain's memory, device DMA through the IOMMU, host info, toolstack. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "check.h"

int main(void)
{
    pviommu_conn *dom0 = test_open(0);
    uint64_t gfn = first_ram_gfn(dom0, 0);

    /* Memory: across a page boundary, and not beyond the domain's RAM. */
    static unsigned char data[10000], back[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 13);
    CHECK_RET(0, pviommu_mem_write(dom0, (gfn << 12) + 3000, data, sizeof data));
    CHECK_RET(0, pviommu_mem_read(dom0, (gfn << 12) + 3000, back, sizeof back));
    CHECK(memcmp(data, back, sizeof data) == 0);
    CHECK_RET(-PV_IOMMU_EFAULT, pviommu_mem_read(dom0, 0x10, back, 8));
    CHECK_RET(-PV_IOMMU_EFAULT, pviommu_mem_write(dom0, 0, data, PVIOMMU_MAX_TRANSFER + 1));

    /* A context with the NIC in it and one page mapped. */
    struct pv_iommu_init init = {.max_ctx_no = 4, .arena_order = 8};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_init, &init));
    struct pv_iommu_alloc alloc = {0};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_alloc_context, &alloc));
    struct pv_iommu_reattach_device reattach = {.ctx_no = alloc.ctx_no, .dev = dom0_nic};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_reattach_device, &reattach));
    struct pv_iommu_map_pages map = {.ctx_no = alloc.ctx_no, .gfn = gfn, .dfn = 0x80, .map_flags = IOMMU_MAP_readable,
        .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = 1};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_map_pages, &map));

    /* The device reads what the domain wrote; it may not write a read-only page. */
    unsigned char dma[256];
    struct pviommu_dma_fault fault = {0, 0};
    CHECK_RET(0, pviommu_dma_read(dom0, dom0_nic, (0x80 << 12) + 3000, dma, sizeof dma, &fault));
    CHECK(memcmp(dma, data, sizeof dma) == 0);
    CHECK_RET(-PV_IOMMU_EIO, pviommu_dma_write(dom0, dom0_nic, 0x80 << 12, dma, sizeof dma, &fault));
    CHECK(fault.reason == PVIOMMU_FAULT_WRITE_NOT_PERMITTED && fault.addr == 0x80 << 12);

    /* After unmap the device faults: not mapped, at the address it used. */
    struct pv_iommu_unmap_pages unmap = {.ctx_no = alloc.ctx_no, .dfn = 0x80, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = 1};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_unmap_pages, &unmap));
    CHECK_RET(-PV_IOMMU_EIO, pviommu_dma_read(dom0, dom0_nic, (0x80 << 12) + 16, dma, 8, &fault));
    CHECK(fault.reason == PVIOMMU_FAULT_NOT_MAPPED && fault.addr == (0x80 << 12) + 16);
    struct pv_iommu_free release = {.ctx_no = alloc.ctx_no, .free_flags = IOMMU_FREE_reattach_default};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_free_context, &release));

    /* The DomU's NIC in its context 0 reaches its memory at dfn = gfn; dom0's NIC is not its. */
    pviommu_conn *domu = test_open(1);
    const char hello[] = "written by the DomU's NIC";
    CHECK_RET(0, pviommu_dma_write(domu, domu_nic, 0x4000, hello, sizeof hello, &fault));
    char readback[sizeof hello];
    CHECK_RET(0, pviommu_mem_read(domu, 0x4000, readback, sizeof readback));
    CHECK(strcmp(readback, hello) == 0);
    CHECK_RET(-PV_IOMMU_EPERM, pviommu_dma_read(domu, dom0_nic, 0, dma, 8, &fault));

    /* Host info and toolstack commands (the latter for the hardware domain only). */
    char *json = NULL;
    CHECK_RET(0, pviommu_host_info(domu, &json));
    CHECK(strstr(json, "\"domains\":[") && strstr(json, "\"iommus\":[") && strstr(json, "\"counters\":{"));
    CHECK(strstr(json, "\"sbdf\":\"0000:00:04.0\""));
    free(json);
    CHECK_RET(-PV_IOMMU_EPERM, pviommu_toolstack(domu, "{\"op\":\"audit\"}", NULL));
    char *result = NULL;
    CHECK_RET(0, pviommu_toolstack(dom0, "{\"op\":\"create_domain\",\"name\":\"c-test\",\"memory_mib\":4}", &result));
    CHECK(strstr(result, "\"domid\":2"));
    free(result);
    CHECK_RET(0, pviommu_toolstack(dom0, "{\"op\":\"destroy_domain\",\"domid\":2}", NULL));
    CHECK_RET(-PV_IOMMU_ENOENT, pviommu_toolstack(dom0, "{\"op\":\"destroy_domain\",\"domid\":2}", NULL));
    CHECK_AUDIT_CLEAN(dom0);

    pviommu_close(domu);
    pviommu_close(dom0);
    printf("test_memory_dma: %d checks passed\n", checks_run);
    return 0;
}
