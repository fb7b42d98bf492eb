#ifndef BATON_CZEROMQ_SHIM_H
#define BATON_CZEROMQ_SHIM_H

#include <zmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

/*
 * Wake-up channel for a poll loop. Swift's Glibc overlay does not export
 * <sys/eventfd.h>, and the eventfd/pipe choice is a platform #if, so it lives here.
 * On Linux both descriptors are the same eventfd; elsewhere they are the two ends
 * of a non-blocking pipe. Returns 0, or -1 with errno set.
 */
static inline int baton_wakeup_open(int *read_fd, int *write_fd) {
#if defined(__linux__)
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) { return -1; }
    *read_fd = fd;
    *write_fd = fd;
    return 0;
#else
    int fds[2];
    if (pipe(fds) != 0) { return -1; }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    *read_fd = fds[0];
    *write_fd = fds[1];
    return 0;
#endif
}

/* Makes read_fd readable. A full pipe or a saturated eventfd already is, so EAGAIN is success. */
static inline void baton_wakeup_signal(int write_fd) {
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(write_fd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
}

/* Consumes every pending wake-up so the next poll blocks again. */
static inline void baton_wakeup_drain(int read_fd) {
    uint64_t buffer[8];
    ssize_t n;
    do {
        n = read(read_fd, buffer, sizeof(buffer));
    } while (n > 0 || (n < 0 && errno == EINTR));
}

static inline void baton_wakeup_close(int read_fd, int write_fd) {
    close(read_fd);
    if (write_fd != read_fd) { close(write_fd); }
}

#endif
