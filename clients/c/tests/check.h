/* check.h: the few assertions the libpviommu tests use. A failed check prints and exits 1. */
#ifndef PVIOMMU_CHECK_H
#define PVIOMMU_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpviommu.h"

static int checks_run;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks_run++;                                                                  \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* A call's return value must be `want` (0 or -PV_IOMMU_E...). */
#define CHECK_RET(want, expr)                                                          \
    do {                                                                               \
        int got_ = (expr);                                                             \
        checks_run++;                                                                  \
        if (got_ != (want)) {                                                          \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr, \
                    pviommu_strerror(got_), pviommu_strerror(want));                   \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* The host's audit (toolstack op "audit", asked as `conn`, a hardware-domain session) is clean. */
#define CHECK_AUDIT_CLEAN(conn)                                                        \
    do {                                                                               \
        char *audit_ = NULL;                                                           \
        CHECK_RET(0, pviommu_toolstack((conn), "{\"op\":\"audit\"}", &audit_));         \
        CHECK(strstr(audit_, "\"clean\":true") != NULL);                               \
        free(audit_);                                                                  \
    } while (0)

/* The socket the harness started a server on. */
static const char *test_socket(void)
{
    const char *path = getenv("PVIOMMU_SOCKET");
    if (path == NULL) {
        fprintf(stderr, "PVIOMMU_SOCKET is not set: run this under pviommu-with-server\n");
        exit(2);
    }
    return path;
}

static pviommu_conn *test_open(uint16_t domid)
{
    pviommu_conn *conn = NULL;
    int ret = pviommu_open(&conn, test_socket(), domid);
    if (ret != 0) {
        fprintf(stderr, "cannot open a session as d%u: %s\n", (unsigned)domid, pviommu_strerror(ret));
        exit(1);
    }
    return conn;
}

/* The default host's devices (docs: wire-protocol.md, "Default host"). */
static const struct pv_iommu_pci_device dom0_nic = {0, 0, 2 << 3};
static const struct pv_iommu_pci_device dom0_gpu = {0, 0, 4 << 3};
static const struct pv_iommu_pci_device domu_nic = {0, 1, 0};

/*
 * The first gfn of a domain's RAM, from host info: the "ram" array of the domain's object,
 * {"domid":N,...,"ram":[{"gfn":G,...  (the server writes compact JSON in this field order).
 */
static uint64_t first_ram_gfn(pviommu_conn *conn, unsigned domid)
{
    char *json = NULL, key[32];
    CHECK_RET(0, pviommu_host_info(conn, &json));
    snprintf(key, sizeof key, "{\"domid\":%u,", domid);
    const char *domain = strstr(json, key);
    CHECK(domain != NULL);
    const char *ram = strstr(domain, "\"ram\":[{\"gfn\":");
    CHECK(ram != NULL);
    uint64_t gfn = strtoull(ram + strlen("\"ram\":[{\"gfn\":"), NULL, 10);
    free(json);
    return gfn;
}

#endif
