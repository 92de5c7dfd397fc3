/*
 * pviommu-driver: what Linux's xen-iommu driver does at boot and for one device, as a dom0
 * vCPU of `pviommu serve`, printing each step.
 *
 *   boot:    query_capabilities (a fresh host reports max_ctx_no 0) -> init -> query again
 *   device:  alloc_context -> reattach_device (the NIC leaves context 0) -> map a buffer
 *            -> the NIC reads it by DMA -> unmap -> the NIC's DMA now faults (not mapped)
 *            -> reattach the NIC to context 0 -> free_context
 *
 * Usage: pviommu-driver [SOCKET]   (default: $PVIOMMU_SOCKET, else ./pviommu.sock)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpviommu.h"

static const struct pv_iommu_pci_device nic = {.seg = 0, .bus = 0, .devfn = (2 << 3) | 0}; /* 0000:00:02.0 */
static const uint64_t buffer_dfn = 0x10;                                                    /* IOVA 0x10000 */

static int step(const char *what, int ret)
{
    printf("%-60s %s\n", what, pviommu_strerror(ret));
    return ret;
}

#define MUST(what, call)                      \
    do {                                      \
        if (step((what), (call)) != 0)        \
            return 1;                         \
    } while (0)

/* The first gfn of dom0's RAM, from host info (a real driver knows its memory map). */
static uint64_t first_ram_gfn(void)
{
    char *json = NULL;
    uint64_t gfn = 0;
    if (pviommu_host_info(pviommu_default_conn(), &json) == 0) {
        const char *dom0 = strstr(json, "{\"domid\":0,");
        const char *ram = dom0 ? strstr(dom0, "\"ram\":[{\"gfn\":") : NULL;
        if (ram)
            gfn = strtoull(ram + strlen("\"ram\":[{\"gfn\":"), NULL, 10);
    }
    free(json);
    return gfn;
}

int main(int argc, char **argv)
{
    const char *socket = argc > 1 ? argv[1] : NULL;
    int ret = pviommu_connect(socket, 0);
    if (ret != 0) {
        fprintf(stderr, "cannot connect as dom0 to %s: %s\n", socket ? socket : "$PVIOMMU_SOCKET or " PVIOMMU_DEFAULT_SOCKET,
                pviommu_strerror(ret));
        return 1;
    }
    printf("connected as dom0 (server caps 0x%x)\n\n-- boot --\n", pviommu_server_caps(pviommu_default_conn()));

    struct pv_iommu_capabilities caps = {0};
    MUST("query_capabilities", HYPERVISOR_iommu_op(IOMMU_query_capabilities, &caps));
    printf("    max_ctx_no %u, max_iova_addr 0x%llx, pgsize_mask 0x%x, cap_flags 0x%x\n", caps.max_ctx_no,
           (unsigned long long)caps.max_iova_addr, caps.pgsize_mask, caps.cap_flags);
    if (caps.max_ctx_no == 0) {
        struct pv_iommu_init init = {.max_ctx_no = 32, .arena_order = 9};
        MUST("init (32 contexts, 512-page arena)", HYPERVISOR_iommu_op(IOMMU_init, &init));
        MUST("query_capabilities", HYPERVISOR_iommu_op(IOMMU_query_capabilities, &caps));
        printf("    max_ctx_no %u\n", caps.max_ctx_no);
    }

    printf("\n-- device 0000:00:02.0 --\n");
    struct pv_iommu_alloc alloc = {0};
    MUST("alloc_context", HYPERVISOR_iommu_op(IOMMU_alloc_context, &alloc));
    printf("    context %u\n", alloc.ctx_no);
    struct pv_iommu_reattach_device attach = {.ctx_no = alloc.ctx_no, .dev = nic};
    MUST("reattach_device 0000:00:02.0 into it", HYPERVISOR_iommu_op(IOMMU_reattach_device, &attach));

    /* A page of the driver's memory holding a packet for the NIC to send. */
    uint64_t gfn = first_ram_gfn() + 64;
    char packet[64];
    snprintf(packet, sizeof packet, "a packet at gfn 0x%llx", (unsigned long long)gfn);
    MUST("write the buffer into guest memory", pviommu_mem_write(pviommu_default_conn(), gfn << 12, packet, sizeof packet));
    struct pv_iommu_map_pages map = {.ctx_no = alloc.ctx_no, .gfn = gfn, .dfn = buffer_dfn,
        .map_flags = IOMMU_MAP_readable, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = 1};
    MUST("map_pages gfn -> dfn 0x10 (read-only for the device)", HYPERVISOR_iommu_op(IOMMU_map_pages, &map));
    printf("    mapped %u page\n", map.mapped);

    char seen[sizeof packet];
    struct pviommu_dma_fault fault = {0, 0};
    MUST("NIC reads the buffer by DMA at 0x10000",
         pviommu_dma_read(pviommu_default_conn(), nic, buffer_dfn << 12, seen, sizeof seen, &fault));
    printf("    the NIC read \"%s\"\n", seen);
    if (memcmp(seen, packet, sizeof packet) != 0) {
        fprintf(stderr, "the device read other bytes than the buffer holds\n");
        return 1;
    }

    struct pv_iommu_unmap_pages unmap = {.ctx_no = alloc.ctx_no, .dfn = buffer_dfn, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = 1};
    MUST("unmap_pages dfn 0x10", HYPERVISOR_iommu_op(IOMMU_unmap_pages, &unmap));
    ret = step("NIC reads 0x10000 again", pviommu_dma_read(pviommu_default_conn(), nic, buffer_dfn << 12, seen, sizeof seen, &fault));
    if (ret != -PV_IOMMU_EIO || fault.reason != PVIOMMU_FAULT_NOT_MAPPED) {
        fprintf(stderr, "expected a not-mapped fault after unmap\n");
        return 1;
    }
    printf("    IOMMU fault: reason %u (not mapped) at 0x%llx; nothing was transferred\n", fault.reason,
           (unsigned long long)fault.addr);

    attach.ctx_no = IOMMU_DEFAULT_CONTEXT;
    MUST("reattach_device 0000:00:02.0 back to context 0", HYPERVISOR_iommu_op(IOMMU_reattach_device, &attach));
    struct pv_iommu_free release = {.ctx_no = alloc.ctx_no};
    MUST("free_context", HYPERVISOR_iommu_op(IOMMU_free_context, &release));

    pviommu_disconnect();
    printf("\ndone\n");
    return 0;
}
