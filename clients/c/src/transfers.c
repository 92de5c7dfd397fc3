/* transfers.c: the domain's memory, device DMA, host info, toolstack commands, raw frames. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Memory and DMA ---------------------------------------------------------------------- */

int pviommu_mem_write(pviommu_conn *conn, uint64_t gpa, const void *buf, uint32_t len)
{
    if (len > PVIOMMU_MAX_TRANSFER || (buf == NULL && len > 0))
        return -PV_IOMMU_EFAULT;
    unsigned char head[MEMORY_HEADER];
    put64(head, gpa);
    put32(head + 8, len);
    put32(head + 12, 0);
    struct iovec pieces[2] = {{head, sizeof head}, {(void *)(uintptr_t)buf, len}};
    int32_t ret = 0;
    if (conn == NULL)
        return -PV_IOMMU_ENOSYS;
    pthread_mutex_lock(&conn->lock);
    int rc = pviommu_exchange(conn, PVIOMMU_KIND_MEMORY_WRITE, 0, 0, pieces, 2, &ret, NULL);
    pthread_mutex_unlock(&conn->lock);
    return rc ? rc : ret;
}

int pviommu_mem_read(pviommu_conn *conn, uint64_t gpa, void *buf, uint32_t len)
{
    if (len > PVIOMMU_MAX_TRANSFER || (buf == NULL && len > 0))
        return -PV_IOMMU_EFAULT;
    unsigned char head[MEMORY_HEADER];
    put64(head, gpa);
    put32(head + 8, len);
    put32(head + 12, 0);
    struct iovec piece = {head, sizeof head};
    struct sink out = {buf, len, 0, NULL, 0, 0};
    int32_t ret = 0;
    if (conn == NULL)
        return -PV_IOMMU_ENOSYS;
    pthread_mutex_lock(&conn->lock);
    int rc = pviommu_exchange(conn, PVIOMMU_KIND_MEMORY_READ, 0, 0, &piece, 1, &ret, &out);
    pthread_mutex_unlock(&conn->lock);
    return rc ? rc : ret;
}

static int dma(pviommu_conn *conn, struct pv_iommu_pci_device dev, int device_writes, uint64_t addr, void *buf,
               uint32_t len, struct pviommu_dma_fault *fault)
{
    if (len > PVIOMMU_MAX_TRANSFER || (buf == NULL && len > 0))
        return -PV_IOMMU_EFAULT;
    unsigned char head[DMA_HEADER];
    put16(head, dev.seg);
    head[2] = dev.bus;
    head[3] = dev.devfn;
    put32(head + 4, device_writes ? 1U : 0U);
    put64(head + 8, addr);
    put32(head + 16, len);
    put32(head + 20, 0);
    struct iovec pieces[2] = {{head, sizeof head}, {buf, device_writes ? len : 0}};
    unsigned char fault_bytes[FAULT_SIZE];
    struct sink out = {device_writes ? NULL : buf, device_writes ? 0 : len, 0, fault_bytes, sizeof fault_bytes, 0};
    int32_t ret = 0;
    if (conn == NULL)
        return -PV_IOMMU_ENOSYS;
    pthread_mutex_lock(&conn->lock);
    int rc = pviommu_exchange(conn, PVIOMMU_KIND_DEVICE_DMA, 0, 0, pieces, device_writes ? 2 : 1, &ret, &out);
    pthread_mutex_unlock(&conn->lock);
    if (rc != 0)
        return rc;
    if (ret == -PV_IOMMU_EIO && out.got == FAULT_SIZE && fault) {
        fault->addr = get64(fault_bytes);
        fault->reason = get32(fault_bytes + 8);
    }
    return ret;
}

int pviommu_dma_read(pviommu_conn *conn, struct pv_iommu_pci_device dev, uint64_t addr, void *buf, uint32_t len,
                     struct pviommu_dma_fault *fault)
{
    return dma(conn, dev, 0, addr, buf, len, fault);
}

int pviommu_dma_write(pviommu_conn *conn, struct pv_iommu_pci_device dev, uint64_t addr, const void *buf,
                      uint32_t len, struct pviommu_dma_fault *fault)
{
    return dma(conn, dev, 1, addr, (void *)(uintptr_t)buf, len, fault);
}

/* ---- JSON kinds -------------------------------------------------------------------------- */

/* Reads a whole response payload into a malloc'd NUL-terminated string. */
static int json_exchange(pviommu_conn *conn, uint16_t kind, const char *request, char **result)
{
    if (conn == NULL)
        return -PV_IOMMU_ENOSYS;
    size_t request_len = request ? strlen(request) : 0;
    if (request_len > PVIOMMU_MAX_TRANSFER)
        return -PV_IOMMU_EFAULT;
    struct iovec piece = {(void *)(uintptr_t)request, request_len};
    int32_t ret = 0;
    pthread_mutex_lock(&conn->lock);

    /* The length is known only from the header: peek it with a zero-room sink, then read. */
    unsigned char header[REQUEST_HEADER];
    uint32_t seq = ++conn->seq;
    put32(header, (uint32_t)(12 + request_len));
    put32(header + 4, seq);
    put16(header + 8, kind);
    put16(header + 10, 0);
    put32(header + 12, 0);
    struct iovec iov[2] = {{header, sizeof header}, piece};
    unsigned char head[RESPONSE_HEADER];
    char *text = NULL;
    int rc = -PV_IOMMU_ENOSYS;
    if (conn->broken || pviommu_send_all(conn->fd, iov, request_len ? 2 : 1) < 0 || pviommu_recv_all(conn->fd, head, sizeof head) < 0)
        goto out;
    uint32_t length = get32(head);
    if (length < 8 || length > PVIOMMU_MAX_FRAME || get32(head + 4) != seq)
        goto out;
    ret = (int32_t)get32(head + 8);
    text = malloc(length - 8 + 1);
    if (text == NULL || pviommu_recv_all(conn->fd, text, length - 8) < 0) {
        free(text);
        text = NULL;
        goto out;
    }
    text[length - 8] = '\0';
    rc = 0;
out:
    if (rc != 0)
        conn->broken = 1;
    pthread_mutex_unlock(&conn->lock);
    if (result)
        *result = text;
    else
        free(text);
    return rc ? rc : ret;
}

int pviommu_host_info(pviommu_conn *conn, char **json)
{
    if (json == NULL)
        return -PV_IOMMU_EFAULT;
    return json_exchange(conn, PVIOMMU_KIND_HOST_INFO, NULL, json);
}

int pviommu_toolstack(pviommu_conn *conn, const char *command, char **result)
{
    if (command == NULL)
        return -PV_IOMMU_EFAULT;
    return json_exchange(conn, PVIOMMU_KIND_TOOLSTACK, command, result);
}

/* ---- Raw frames -------------------------------------------------------------------------- */

int pviommu_raw(pviommu_conn *conn, uint16_t kind, uint16_t code, uint32_t reserved, const void *payload,
                uint32_t len, int32_t *ret, void *resp, uint32_t cap, uint32_t *resp_len)
{
    if (conn == NULL || ret == NULL)
        return -PV_IOMMU_ENOSYS;
    struct iovec piece = {(void *)(uintptr_t)payload, len};
    struct sink out = {NULL, 0, 0, resp, cap, 0};
    pthread_mutex_lock(&conn->lock);
    int rc = pviommu_exchange(conn, kind, code, reserved, &piece, len ? 1 : 0, ret, &out);
    pthread_mutex_unlock(&conn->lock);
    if (resp_len)
        *resp_len = out.got;
    return rc;
}

