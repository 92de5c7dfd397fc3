/*
 * test_scenario_host.c: run under `pviommu-with-server --host examples/rogue.toml`, the server
 * serves that scenario's host: dom0 with the rogue device 00:05.0, and the PVH "victim" (d1)
 * with the NIC 00:06.0 assigned, neither initialised.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "check.h"

static const struct pv_iommu_pci_device rogue = {0, 0, 5 << 3};
static const struct pv_iommu_pci_device victim_nic = {0, 0, 6 << 3};

int main(void)
{
    pviommu_conn *dom0 = test_open(0);
    pviommu_conn *victim = test_open(1);

    /* The scenario's domains and devices, not the default host's. */
    char *json = NULL;
    CHECK_RET(0, pviommu_host_info(dom0, &json));
    CHECK(strstr(json, "\"name\":\"victim\""));
    CHECK(strstr(json, "\"sbdf\":\"0000:00:06.0\",\"description\":\"Ethernet controller\",\"owner\":1,"));
    CHECK(strstr(json, "\"sbdf\":\"0000:00:05.0\",\"description\":\"Unclassified device\",\"owner\":0,"));
    CHECK(strstr(json, "\"sbdf\":\"0000:00:02.0\"") == NULL);
    free(json);

    /* Freshly booted: dom0's first query reports max_ctx_no 0. */
    struct pv_iommu_capabilities caps = {0};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_query_capabilities, &caps));
    CHECK(caps.max_ctx_no == 0);

    /* The victim's NIC, in its context 0, reads the victim's memory at dfn = gfn. */
    const char hello[] = "written by the victim's vCPU";
    char back[sizeof hello];
    struct pviommu_dma_fault fault = {0, 0};
    uint64_t gpa = (first_ram_gfn(victim, 1) + 5) << 12;
    CHECK_RET(0, pviommu_mem_write(victim, gpa, hello, sizeof hello));
    CHECK_RET(0, pviommu_dma_read(victim, victim_nic, gpa, back, sizeof back, &fault));
    CHECK(strcmp(back, hello) == 0);

    /* The rogue device is dom0's, not the victim's; the default host's NIC is not in this host. */
    CHECK_RET(-PV_IOMMU_EPERM, pviommu_dma_read(victim, rogue, gpa, back, 8, &fault));
    CHECK_RET(-PV_IOMMU_ENODEV, pviommu_dma_read(dom0, (struct pv_iommu_pci_device){0, 0, 2 << 3}, 0, back, 8, &fault));

    CHECK_AUDIT_CLEAN(dom0);

    pviommu_close(victim);
    pviommu_close(dom0);
    printf("test_scenario_host: %d checks passed\n", checks_run);
    return 0;
}
