// SipHash-1-2 (one compression round, two finalization rounds), the keyed hash Redis uses for its dictionaries,
// seeded per process so that clients cannot choose keys that collide. Inline, so that a lookup hashes the request
// bytes with no call overhead.
#ifndef GODIS_HASH_H
#define GODIS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/// The per-process key, filled from the OS's random source before main runs.
extern uint64_t godis_hash_key[2];

#define GODIS_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define GODIS_SIPROUND                                                                                                \
    do {                                                                                                              \
        v0 += v1; v1 = GODIS_ROTL(v1, 13); v1 ^= v0; v0 = GODIS_ROTL(v0, 32);                                         \
        v2 += v3; v3 = GODIS_ROTL(v3, 16); v3 ^= v2;                                                                  \
        v0 += v3; v3 = GODIS_ROTL(v3, 21); v3 ^= v0;                                                                  \
        v2 += v1; v1 = GODIS_ROTL(v1, 17); v1 ^= v2; v2 = GODIS_ROTL(v2, 32);                                         \
    } while (0)

/// SipHash-1-2 of `length` bytes under the key (k0, k1). Words are read little-endian.
static inline uint64_t godis_siphash12(const void *data, size_t length, uint64_t k0, uint64_t k1) {
    const uint8_t *in = (const uint8_t *)data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    const uint8_t *end = in + (length & ~(size_t)7);
    for (; in != end; in += 8) {
        uint64_t m;
        memcpy(&m, in, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        m = __builtin_bswap64(m);
#endif
        v3 ^= m;
        GODIS_SIPROUND;
        v0 ^= m;
    }
    uint64_t b = ((uint64_t)length) << 56;
    switch (length & 7) {
    case 7: b |= ((uint64_t)in[6]) << 48; /* fall through */
    case 6: b |= ((uint64_t)in[5]) << 40; /* fall through */
    case 5: b |= ((uint64_t)in[4]) << 32; /* fall through */
    case 4: b |= ((uint64_t)in[3]) << 24; /* fall through */
    case 3: b |= ((uint64_t)in[2]) << 16; /* fall through */
    case 2: b |= ((uint64_t)in[1]) << 8;  /* fall through */
    case 1: b |= ((uint64_t)in[0]); break;
    case 0: break;
    }
    v3 ^= b;
    GODIS_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    GODIS_SIPROUND;
    GODIS_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/// SipHash-1-2 under the per-process key.
static inline uint64_t godis_hash(const void *data, size_t length) {
    return godis_siphash12(data, length, godis_hash_key[0], godis_hash_key[1]);
}

#endif
