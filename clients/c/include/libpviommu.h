/*
 * libpviommu.h: a C client of `pviommu serve` (the wire protocol of the pviommu project,
 * shared/docs/wire-protocol.md, version 1).
 *
 * A program connects as a vCPU of one domain of the simulated host, then calls
 *
 *     ret = pv_iommu_op(IOMMU_map_pages, &op);
 *
 * exactly as a driver calls HYPERVISOR_iommu_op(subop, arg) on Xen: the library sends the
 * argument struct's bytes, the server runs the call, and the library copies the struct back
 * (OUT fields and progress, on failure too). The structs and numbers are those of pv-iommu.h.
 * Besides hypercalls it can read and write the domain's memory, make a PCI device do DMA
 * through the IOMMU, and ask for the host's description.
 *
 * Return values: 0 or a negative Xen errno (PV_IOMMU_E*), as the hypervisor returns it. Two
 * come from the library itself:
 *   -PV_IOMMU_EFAULT  a NULL argument (or remote_cmd inner handle) where a struct is needed,
 *                     or a transfer longer than PVIOMMU_MAX_TRANSFER;
 *   -PV_IOMMU_ENOSYS  not connected, or the connection failed (the call may or may not have
 *                     run); the connection is unusable afterwards: close it.
 *
 * Threads: a connection is one vCPU. Calls on one connection are serialised by a mutex, so
 * threads may share it; for concurrent calls, open one connection per thread.
 */

#ifndef LIBPVIOMMU_H
#define LIBPVIOMMU_H

#include <stddef.h>
#include <stdint.h>

#include "pv-iommu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Protocol constants ------------------------------------------------------------------ */

#define PVIOMMU_DEFAULT_SOCKET "./pviommu.sock" /* what `pviommu serve` listens on by default */

/* server_caps bits of the opening reply */
#define PVIOMMU_CAP_MEMORY (1U << 0)    /* pviommu_mem_read / pviommu_mem_write */
#define PVIOMMU_CAP_DMA (1U << 1)       /* pviommu_dma_read / pviommu_dma_write */
#define PVIOMMU_CAP_HOST_INFO (1U << 2) /* pviommu_host_info */

/* Request kinds (the frame's kind field) */
#define PVIOMMU_KIND_HYPERCALL 1
#define PVIOMMU_KIND_MEMORY_WRITE 2
#define PVIOMMU_KIND_MEMORY_READ 3
#define PVIOMMU_KIND_DEVICE_DMA 4
#define PVIOMMU_KIND_HOST_INFO 5
#define PVIOMMU_KIND_TOOLSTACK 6

#define PVIOMMU_MAX_FRAME (16U * 1024 * 1024)  /* largest frame length either side sends */
#define PVIOMMU_MAX_TRANSFER (PVIOMMU_MAX_FRAME - 12 - 24) /* largest memory/DMA transfer */

/* DMA fault reasons (struct pviommu_dma_fault.reason) */
#define PVIOMMU_FAULT_NOT_MAPPED 1          /* no present leaf maps the address */
#define PVIOMMU_FAULT_READ_NOT_PERMITTED 2  /* device read of a mapping without R */
#define PVIOMMU_FAULT_WRITE_NOT_PERMITTED 3 /* device write to a mapping without W */
#define PVIOMMU_FAULT_BLOCKED 4             /* no usable context entry */
#define PVIOMMU_FAULT_BEYOND_WIDTH 5        /* address above the page table's width */

/* What a DMA that returned -PV_IOMMU_EIO ran into. Nothing was transferred. */
struct pviommu_dma_fault {
    uint64_t addr;   /* the bus address refused (first byte of the refused 4 KiB piece) */
    uint32_t reason; /* PVIOMMU_FAULT_* */
};

/* One session with the server: a vCPU of one domain. */
typedef struct pviommu_conn pviommu_conn;

/* ---- Connections ------------------------------------------------------------------------- */

/*
 * Waiting for a response, a connection reads without blocking for up to 50 us before it
 * blocks (busy polling, docs/server.md): PVIOMMU_BUSY_POLL_US in the environment, read at the
 * first receive, sets the time from 0 (block at once) to 1000000 us.
 */

/*
 * Connects to the Unix socket `path` (NULL: PVIOMMU_DEFAULT_SOCKET) as a vCPU of `domid`.
 * Returns 0 and sets *conn, or the opening's status (-PV_IOMMU_ENOENT no such domain,
 * -PV_IOMMU_EINVAL bad opening, -PV_IOMMU_EBUSY too many sessions), or -PV_IOMMU_ENOSYS when
 * nothing answers at `path` (errno tells why).
 */
int pviommu_open(pviommu_conn **conn, const char *path, uint16_t domid);

/* As pviommu_open, over TCP to a loopback address ("127.0.0.1", "::1"). */
int pviommu_open_tcp(pviommu_conn **conn, const char *host, uint16_t port, uint16_t domid);

/* Closes the session (NULL is ignored). */
void pviommu_close(pviommu_conn *conn);

/* The server_caps of the opening reply (PVIOMMU_CAP_*). */
uint32_t pviommu_server_caps(const pviommu_conn *conn);

/* The domain this connection is a vCPU of. */
uint16_t pviommu_domid(const pviommu_conn *conn);

/* ---- The hypercall ----------------------------------------------------------------------- */

/*
 * iommu_op(subop, arg) on `conn`, with the hypercall's semantics: `arg` points at the sub-op's
 * struct from pv-iommu.h (NULL for noop and flush_nested); it is sent, and written back with
 * what the hypervisor wrote. For IOMMU_remote_cmd, `arg` points at a struct
 * pv_iommu_remote_cmd whose `arg` field is the guest handle of the inner struct,
 * (uint64_t)(uintptr_t)&inner: the library sends the remote struct followed by the inner
 * struct (its size from the inner sub-op) and writes both back. A sub-op number above 0xffff,
 * which the wire cannot carry, returns -PV_IOMMU_EOPNOTSUPP, as an unknown sub-op does.
 */
int pviommu_iommu_op(pviommu_conn *conn, unsigned int subop, void *arg);

/*
 * The default connection, for code written against HYPERVISOR_iommu_op: pviommu_connect opens
 * it (PVIOMMU_SOCKET from the environment when `path` is NULL, else PVIOMMU_DEFAULT_SOCKET),
 * pv_iommu_op calls on it, pviommu_disconnect closes it. Before pviommu_connect, pv_iommu_op
 * returns -PV_IOMMU_ENOSYS, as a kernel without the hypercall would see.
 */
int pviommu_connect(const char *path, uint16_t domid);
void pviommu_disconnect(void);
pviommu_conn *pviommu_default_conn(void);
int pv_iommu_op(unsigned int subop, void *arg);

#ifndef HYPERVISOR_iommu_op
#define HYPERVISOR_iommu_op(subop, arg) pv_iommu_op((subop), (arg))
#endif

/* ---- The domain's memory (kinds 2 and 3) ------------------------------------------------- */

/*
 * Writes / reads `len` bytes of the connection's domain's memory at guest physical address
 * `gpa`. Every frame must be RAM the domain has (else -PV_IOMMU_EFAULT, nothing moved).
 */
int pviommu_mem_write(pviommu_conn *conn, uint64_t gpa, const void *buf, uint32_t len);
int pviommu_mem_read(pviommu_conn *conn, uint64_t gpa, void *buf, uint32_t len);

/* ---- Device DMA (kind 4) ----------------------------------------------------------------- */

/*
 * PCI device `dev` does DMA at bus address `addr` through the IOMMU: dma_read reads memory
 * into `buf` (a device read), dma_write writes `buf` to memory (a device write). The device
 * must be assigned to the connection's domain, unless it is the hardware domain (else
 * -PV_IOMMU_EPERM). On a fault the call returns -PV_IOMMU_EIO, fills `fault` (may be NULL) and
 * nothing was transferred.
 */
int pviommu_dma_read(pviommu_conn *conn, struct pv_iommu_pci_device dev, uint64_t addr, void *buf, uint32_t len,
                     struct pviommu_dma_fault *fault);
int pviommu_dma_write(pviommu_conn *conn, struct pv_iommu_pci_device dev, uint64_t addr, const void *buf,
                      uint32_t len, struct pviommu_dma_fault *fault);

/* ---- Host info and toolstack (kinds 5 and 6) --------------------------------------------- */

/* The host's description as a NUL-terminated JSON string in *json; free() it. */
int pviommu_host_info(pviommu_conn *conn, char **json);

/*
 * A toolstack command (JSON, see docs/wire-protocol-notes.md); hardware domain only. The
 * result object, NUL-terminated, is put in *result (may be NULL) for the caller to free().
 */
int pviommu_toolstack(pviommu_conn *conn, const char *command, char **result);

/* ---- Raw frames, for tests of the protocol ----------------------------------------------- */

/*
 * Sends one request frame with the given header fields and payload and reads the response:
 * ret in *ret, up to `cap` payload bytes into `resp`, the payload's full length in *resp_len.
 * Returns 0, or -PV_IOMMU_ENOSYS when the server closed the connection instead of answering.
 */
int pviommu_raw(pviommu_conn *conn, uint16_t kind, uint16_t code, uint32_t reserved, const void *payload,
                uint32_t len, int32_t *ret, void *resp, uint32_t cap, uint32_t *resp_len);

/* Bytes of the argument struct of `subop` (0 for noop), or -1 for a number the ABI lacks. */
int pviommu_arg_size(unsigned int subop);

/* "0", "-ENOENT", ...: a return value as the ABI names it (a static string). */
const char *pviommu_strerror(int ret);

#ifdef __cplusplus
}
#endif

#endif /* LIBPVIOMMU_H */
