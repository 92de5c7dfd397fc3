/* test_wire.c: the protocol's framing and error rules, raw, and clients that misbehave. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int raw_socket(void)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    const char *path = test_socket();
    CHECK(strlen(path) < sizeof addr.sun_path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    return fd;
}

static void read_exactly(int fd, unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        CHECK(n > 0);
        buf += n;
        len -= (size_t)n;
    }
}

/* Sends a 16-byte opening; returns the reply's status. */
static int32_t hello(int fd, const char *magic, uint16_t domid, uint16_t flags)
{
    unsigned char h[16] = {0}, reply[16];
    memcpy(h, magic, 8);
    h[8] = (unsigned char)domid;
    h[9] = (unsigned char)(domid >> 8);
    h[10] = (unsigned char)flags;
    CHECK(write(fd, h, sizeof h) == (ssize_t)sizeof h);
    read_exactly(fd, reply, sizeof reply);
    CHECK(memcmp(reply, "PVIOMMU1", 8) == 0);
    return (int32_t)get32(reply + 8);
}

static int closed(int fd)
{
    unsigned char b;
    return read(fd, &b, 1) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(void)
{
    /* Openings: bad magic, non-zero flags, no such domain. */
    int fd = raw_socket();
    CHECK_RET(-PV_IOMMU_EINVAL, hello(fd, "PVIOMMU9", 0, 0));
    CHECK(closed(fd));
    close(fd);
    fd = raw_socket();
    CHECK_RET(-PV_IOMMU_EINVAL, hello(fd, "PVIOMMU1", 0, 1));
    CHECK(closed(fd));
    close(fd);
    fd = raw_socket();
    CHECK_RET(-PV_IOMMU_ENOENT, hello(fd, "PVIOMMU1", 4242, 0));
    CHECK(closed(fd));
    close(fd);

    /* Frames: unknown kind, a hypercall of the wrong size, then a non-zero reserved field. */
    pviommu_conn *conn = test_open(0);
    int32_t ret = 0;
    unsigned char resp[64];
    uint32_t resp_len = 0;
    CHECK_RET(0, pviommu_raw(conn, 9, 0, 0, NULL, 0, &ret, resp, sizeof resp, &resp_len));
    CHECK_RET(-PV_IOMMU_EOPNOTSUPP, ret);
    unsigned char short_caps[23] = {0};
    CHECK_RET(0, pviommu_raw(conn, PVIOMMU_KIND_HYPERCALL, IOMMU_query_capabilities, 0, short_caps, sizeof short_caps, &ret,
                             resp, sizeof resp, &resp_len));
    CHECK_RET(-PV_IOMMU_EFAULT, ret);
    CHECK(resp_len == sizeof short_caps);
    CHECK_RET(0, pviommu_raw(conn, PVIOMMU_KIND_HYPERCALL, IOMMU_noop, 1, NULL, 0, &ret, resp, sizeof resp, &resp_len));
    CHECK_RET(-PV_IOMMU_EINVAL, ret);
    CHECK_RET(-PV_IOMMU_ENOSYS, pviommu_iommu_op(conn, IOMMU_noop, NULL)); /* the server closed it */
    pviommu_close(conn);

    /* A frame longer than 16 MiB: -EINVAL with its seq, then the connection closes. */
    fd = raw_socket();
    CHECK_RET(0, hello(fd, "PVIOMMU1", 0, 0));
    unsigned char header[16] = {0};
    put32(header, PVIOMMU_MAX_FRAME + 1);
    put32(header + 4, 0xC0FFEE);
    header[8] = PVIOMMU_KIND_MEMORY_WRITE;
    CHECK(write(fd, header, sizeof header) == (ssize_t)sizeof header);
    unsigned char reply[12];
    read_exactly(fd, reply, sizeof reply);
    CHECK(get32(reply) == 8 && get32(reply + 4) == 0xC0FFEE && (int32_t)get32(reply + 8) == -PV_IOMMU_EINVAL);
    CHECK(closed(fd));
    close(fd);

    /* A client that sends a large map and goes away at once: the map still completes whole. */
    pviommu_conn *dom0 = test_open(0);
    uint64_t gfn = first_ram_gfn(dom0, 0);
    struct pv_iommu_init init = {.max_ctx_no = 4, .arena_order = 12};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_init, &init));
    struct pv_iommu_alloc alloc = {0};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_alloc_context, &alloc));
    const uint32_t pages = 131072;
    fd = raw_socket();
    CHECK_RET(0, hello(fd, "PVIOMMU1", 0, 0));
    struct pv_iommu_map_pages map = {.ctx_no = alloc.ctx_no, .gfn = gfn, .dfn = 0x100000,
        .map_flags = IOMMU_MAP_readable, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = pages};
    unsigned char frame[16 + sizeof map] = {0};
    put32(frame, 12 + sizeof map);
    put32(frame + 4, 1);
    frame[8] = PVIOMMU_KIND_HYPERCALL;
    frame[10] = IOMMU_map_pages;
    memcpy(frame + 16, &map, sizeof map);
    CHECK(write(fd, frame, sizeof frame) == (ssize_t)sizeof frame);
    close(fd);
    struct pv_iommu_lookup_page lookup = {.ctx_no = alloc.ctx_no, .dfn = 0x100000 + pages - 1};
    int tries = 0;
    while (pviommu_iommu_op(dom0, IOMMU_lookup_page, &lookup) != 0 && tries++ < 6000)
        sleep_ms(10);
    CHECK(lookup.gfn == gfn + pages - 1);
    struct pv_iommu_unmap_pages unmap = {.ctx_no = alloc.ctx_no, .dfn = 0x100000, .pgsize = PV_IOMMU_PGSIZE_4K, .nr_pages = pages};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_unmap_pages, &unmap));
    CHECK(unmap.unmapped == pages);
    struct pv_iommu_free release = {.ctx_no = alloc.ctx_no};
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_free_context, &release));
    CHECK_AUDIT_CLEAN(dom0);

    /* 64 sessions at once, then the server still answers. */
    pviommu_conn *many[64];
    for (int i = 0; i < 64; i++)
        many[i] = test_open((uint16_t)(i % 2));
    for (int i = 0; i < 64; i++)
        CHECK_RET(0, pviommu_iommu_op(many[i], IOMMU_noop, NULL));
    for (int i = 0; i < 64; i++)
        pviommu_close(many[i]);
    CHECK_RET(0, pviommu_iommu_op(dom0, IOMMU_noop, NULL));
    pviommu_close(dom0);
    printf("test_wire: %d checks passed\n", checks_run);
    return 0;
}
