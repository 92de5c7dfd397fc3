/* wire.c: socket I/O and one request/response exchange. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* where it is missing, SO_NOSIGPIPE is set on the socket instead */
#endif

/* ---- Socket I/O ------------------------------------------------------------------------- */

int pviommu_send_all(int fd, struct iovec *iov, int count)
{
    while (count > 0) {
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)count;
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t done = (size_t)n;
        while (count > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/*
 * Busy polling (docs/server.md): a receive first reads without blocking for up to this long,
 * then blocks. Waking a blocked thread costs ~10 us on a VM, more than most calls take to run.
 * PVIOMMU_BUSY_POLL_US in the environment sets it, read at the first receive: 0 to 1000000
 * microseconds (0: block at once); another value leaves the default, 50.
 */
static long busy_poll_ns = 50000;
static pthread_once_t busy_poll_read = PTHREAD_ONCE_INIT;

static void read_busy_poll(void)
{
    const char *text = getenv("PVIOMMU_BUSY_POLL_US");
    if (text == NULL || *text == '\0')
        return;
    char *end;
    errno = 0;
    long us = strtol(text, &end, 10);
    if (errno == 0 && *end == '\0' && us >= 0 && us <= 1000000)
        busy_poll_ns = us * 1000;
}

static long since_ns(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - start->tv_sec) * 1000000000L + (now.tv_nsec - start->tv_nsec);
}

/* One recv: without blocking while the busy poll lasts, then blocking. */
static ssize_t recv_polling(int fd, void *into, size_t want)
{
#ifdef MSG_DONTWAIT
    pthread_once(&busy_poll_read, read_busy_poll);
    if (busy_poll_ns > 0) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        do {
            ssize_t n = recv(fd, into, want, MSG_DONTWAIT);
            if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return n;
            sched_yield(); /* a thread waiting for this CPU (the server's, on a small machine) runs first */
        } while (since_ns(&start) < busy_poll_ns);
    }
#endif
    return recv(fd, into, want, 0);
}

int pviommu_recv_all(int fd, void *buf, size_t len)
{
    unsigned char scratch[4096];
    while (len > 0) {
        void *into = buf ? buf : scratch;
        size_t want = buf ? len : (len < sizeof scratch ? len : sizeof scratch);
        ssize_t n = recv_polling(fd, into, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        if (buf)
            buf = (unsigned char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- Frames ------------------------------------------------------------------------------ */

int pviommu_exchange(pviommu_conn *c, uint16_t kind, uint16_t code, uint32_t reserved, struct iovec *pieces, int n,
                    int32_t *ret, struct sink *out)
{
    if (c == NULL || c->broken)
        return -PV_IOMMU_ENOSYS;
    size_t payload = 0;
    for (int i = 0; i < n; i++)
        payload += pieces[i].iov_len;
    if (payload > PVIOMMU_MAX_FRAME - 12)
        return -PV_IOMMU_EFAULT;

    unsigned char header[REQUEST_HEADER];
    uint32_t seq = ++c->seq;
    put32(header, (uint32_t)(12 + payload));
    put32(header + 4, seq);
    put16(header + 8, kind);
    put16(header + 10, code);
    put32(header + 12, reserved);
    struct iovec iov[8];
    iov[0].iov_base = header;
    iov[0].iov_len = sizeof header;
    for (int i = 0; i < n && i < 7; i++)
        iov[i + 1] = pieces[i];

    /* A server that refuses a frame answers and closes before reading it all: still read. */
    int sent = pviommu_send_all(c->fd, iov, n + 1);

    unsigned char head[RESPONSE_HEADER];
    if (pviommu_recv_all(c->fd, head, sizeof head) < 0)
        goto broken;
    uint32_t length = get32(head);
    if (length < 8 || length > PVIOMMU_MAX_FRAME || (sent < 0 && length != 8))
        goto broken;
    *ret = (int32_t)get32(head + 8);
    uint32_t got = length - 8;
    if (out)
        out->got = got;
    void *into = NULL;
    uint32_t room = 0;
    if (out && out->ok && got == out->ok_len && (out->ok_any_ret || *ret == 0)) {
        into = out->ok;
        room = got;
    } else if (out && out->alt) {
        into = out->alt;
        room = got < out->alt_len ? got : out->alt_len;
    }
    if (room && pviommu_recv_all(c->fd, into, room) < 0)
        goto broken;
    if (got > room && pviommu_recv_all(c->fd, NULL, got - room) < 0)
        goto broken;
    if (get32(head + 4) != seq && !(sent < 0 && *ret == -PV_IOMMU_EINVAL))
        goto broken;
    if (sent < 0)
        c->broken = 1; /* answered, but the server has closed the connection */
    return 0;

broken:
    c->broken = 1;
    return -PV_IOMMU_ENOSYS;
}

