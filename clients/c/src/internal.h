/*
 * internal.h: what the parts of libpviommu share (not installed).
 *
 *   request   [length u32][seq u32][kind u16][code u16][reserved u32][payload]   length = 12 + payload
 *   response  [length u32][seq u32][ret i32][payload]                             length = 8 + payload
 *
 * Little-endian on the wire; the encoders below build bytes explicitly, so the library is
 * right on any host byte order. Argument structs go as their in-memory bytes, which pv-iommu.h
 * pins to the x86-64 little-endian layout.
 */
#ifndef LIBPVIOMMU_INTERNAL_H
#define LIBPVIOMMU_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "libpviommu.h"

#define HELLO_SIZE 16
#define REQUEST_HEADER 16
#define RESPONSE_HEADER 12
#define MEMORY_HEADER 16
#define DMA_HEADER 24
#define FAULT_SIZE 16

struct pviommu_conn {
    int fd;
    int broken; /* a transport failure: every later call gets -ENOSYS */
    uint16_t domid;
    uint32_t caps;
    uint32_t seq;
    pthread_mutex_t lock;
};

/* ---- Little-endian fields ------------------------------------------------------------------ */

static inline void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/*
 * Where a response's payload goes: into `ok` when it is exactly `ok_len` bytes and ret is 0
 * (or any ret, with `ok_any_ret`: a hypercall's struct comes back on failure too); else up to
 * `alt_len` bytes into `alt` (a DMA fault); anything else is read and dropped.
 */
struct sink {
    void *ok;
    uint32_t ok_len;
    int ok_any_ret;
    void *alt;
    uint32_t alt_len;
    uint32_t got; /* the payload's length */
};

/* Sends every byte of the iovecs; -1 when the peer is gone. */
int pviommu_send_all(int fd, struct iovec *iov, int count);

/* Receives exactly `len` bytes (into `buf`, or dropped when it is NULL); -1 at end of stream. */
int pviommu_recv_all(int fd, void *buf, size_t len);

/*
 * One request/response exchange on `c` (the caller holds c->lock). The payload is `n` pieces
 * (at most 7) sent back to back, without a copy. Returns 0 and *ret, or -ENOSYS when the
 * connection is broken.
 */
int pviommu_exchange(pviommu_conn *c, uint16_t kind, uint16_t code, uint32_t reserved, struct iovec *pieces, int n,
                     int32_t *ret, struct sink *out);

#endif
