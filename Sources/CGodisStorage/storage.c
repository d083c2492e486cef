// C helpers of the storage engine: calls Swift's Glibc module does not export, and a cache-bypassing copy.
#define _GNU_SOURCE
#include "godis_storage.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

int godis_preallocate(int fd, off_t offset, off_t length) {
#if defined(__linux__)
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length) == 0 ? 0 : errno;
#else
    (void)fd;
    (void)offset;
    (void)length;
    return EOPNOTSUPP;
#endif
}

#if defined(__x86_64__)
#include <emmintrin.h>

void godis_copy_nontemporal(void *destination, const void *source, size_t length) {
    uint8_t *d = destination;
    const uint8_t *s = source;
    // Up to a 16-byte aligned destination with plain stores, then 64 bytes (a cache line) per step.
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (head > length) head = length;
    memcpy(d, s, head);
    d += head;
    s += head;
    length -= head;
    while (length >= 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + 48));
        _mm_stream_si128((__m128i *)d, a);
        _mm_stream_si128((__m128i *)(d + 16), b);
        _mm_stream_si128((__m128i *)(d + 32), c);
        _mm_stream_si128((__m128i *)(d + 48), e);
        d += 64;
        s += 64;
        length -= 64;
    }
    memcpy(d, s, length);
    // Non-temporal stores are weakly ordered: make them visible before anything that follows (another thread
    // may read the copy after a lock hand-off).
    _mm_sfence();
}
#else
void godis_copy_nontemporal(void *destination, const void *source, size_t length) {
    memcpy(destination, source, length);
}
#endif
