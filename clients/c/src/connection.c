/* connection.c: opening a session (Unix socket or loopback TCP), closing it, the default connection. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

static const unsigned char magic[8] = {'P', 'V', 'I', 'O', 'M', 'M', 'U', '1'};

/* ---- Connections ------------------------------------------------------------------------- */

static int handshake(pviommu_conn **out, int fd, uint16_t domid)
{
    unsigned char hello[HELLO_SIZE];
    memcpy(hello, magic, sizeof magic);
    put16(hello + 8, domid);
    put16(hello + 10, 0);
    put32(hello + 12, 0);
    struct iovec iov = {hello, sizeof hello};
    unsigned char reply[HELLO_SIZE];
    if (pviommu_send_all(fd, &iov, 1) < 0 || pviommu_recv_all(fd, reply, sizeof reply) < 0 || memcmp(reply, magic, sizeof magic) != 0) {
        close(fd);
        return -PV_IOMMU_ENOSYS;
    }
    int32_t status = (int32_t)get32(reply + 8);
    if (status != 0) {
        close(fd);
        return status;
    }
    pviommu_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return -PV_IOMMU_ENOMEM;
    }
    c->fd = fd;
    c->domid = domid;
    c->caps = get32(reply + 12);
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

static void no_sigpipe(int fd)
{
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
    (void)fd;
#endif
}

int pviommu_open(pviommu_conn **conn, const char *path, uint16_t domid)
{
    struct sockaddr_un addr;
    if (conn == NULL)
        return -PV_IOMMU_EFAULT;
    *conn = NULL;
    if (path == NULL)
        path = PVIOMMU_DEFAULT_SOCKET;
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -PV_IOMMU_ENOSYS;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -PV_IOMMU_ENOSYS;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -PV_IOMMU_ENOSYS;
    }
    no_sigpipe(fd);
    return handshake(conn, fd, domid);
}

int pviommu_open_tcp(pviommu_conn **conn, const char *host, uint16_t port, uint16_t domid)
{
    struct addrinfo hints, *found = NULL;
    char service[8];
    if (conn == NULL)
        return -PV_IOMMU_EFAULT;
    *conn = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host ? host : "127.0.0.1", service, &hints, &found) != 0 || found == NULL)
        return -PV_IOMMU_ENOSYS;
    int fd = -1;
    for (struct addrinfo *a = found; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd < 0)
        return -PV_IOMMU_ENOSYS;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    no_sigpipe(fd);
    return handshake(conn, fd, domid);
}

void pviommu_close(pviommu_conn *conn)
{
    if (conn == NULL)
        return;
    close(conn->fd);
    pthread_mutex_destroy(&conn->lock);
    free(conn);
}

uint32_t pviommu_server_caps(const pviommu_conn *conn)
{
    return conn ? conn->caps : 0;
}

uint16_t pviommu_domid(const pviommu_conn *conn)
{
    return conn ? conn->domid : 0;
}

static pviommu_conn *default_conn;

int pviommu_connect(const char *path, uint16_t domid)
{
    if (path == NULL)
        path = getenv("PVIOMMU_SOCKET");
    pviommu_disconnect();
    return pviommu_open(&default_conn, path, domid);
}

void pviommu_disconnect(void)
{
    pviommu_close(default_conn);
    default_conn = NULL;
}

pviommu_conn *pviommu_default_conn(void)
{
    return default_conn;
}

int pv_iommu_op(unsigned int subop, void *arg)
{
    return pviommu_iommu_op(default_conn, subop, arg);
}

