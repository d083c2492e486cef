// Linux socket calls the Swift Glibc module does not export (<sys/epoll.h>, <sys/eventfd.h>, accept4), behind a
// plain C API for the epoll transport (Sources/Server/Epoll*.swift). Every function returns -errno on failure.
#ifndef GODIS_NET_H
#define GODIS_NET_H

#include <stddef.h>
#include <stdint.h>

/// One readiness event: the epoll event bits and the 64-bit token registered with the descriptor.
/// (`struct epoll_event` is packed on x86-64, which Swift does not import faithfully.)
typedef struct {
    uint32_t events;
    uint64_t token;
} godis_event;

enum {
    GODIS_EV_IN = 0x001,
    GODIS_EV_OUT = 0x004,
    GODIS_EV_ERR = 0x008,
    GODIS_EV_HUP = 0x010,
    GODIS_EV_RDHUP = 0x2000,
};

int godis_epoll_create(void);
/// `op`: 0 add, 1 modify, 2 delete.
int godis_epoll_ctl(int ep, int op, int fd, uint32_t events, uint64_t token);
int godis_epoll_wait(int ep, godis_event *events, int max, int timeout_ms);

/// A non-blocking, close-on-exec eventfd for waking the loop from other threads.
int godis_eventfd(void);
int godis_eventfd_signal(int fd);
void godis_eventfd_drain(int fd);

/// A non-blocking listening TCP socket on `host` (numeric or resolvable, IPv4 or IPv6) and `port` (0: any), with
/// SO_REUSEADDR (and IPV6_V6ONLY for IPv6, as Redis). Stores the bound port in `bound_port`.
int godis_listen(const char *host, int port, int backlog, int *bound_port);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, then TCP_NODELAY.
int godis_accept(int listener);
/// "ip:port" of the peer (`peer` != 0) or of the local end, into `out` (NUL-terminated).
int godis_address(int fd, int peer, char *out, size_t size);

/// read/write that retry on EINTR; -EAGAIN when nothing can be done now.
long godis_read(int fd, void *buffer, size_t size);
long godis_write(int fd, const void *buffer, size_t size);
int godis_close(int fd);

#endif
