// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by the Godis log format
// (docs/FORMAT.md). Hardware path: SSE4.2 `crc32` 8 bytes at a time, three streams at once on long inputs.
// Fallback: slicing-by-8.
#include "godis_crc32c.h"
#include <pthread.h>
#include <string.h>

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xFF];
    }
}

uint32_t godis_crc32c_extend_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&table_once, build_tables);
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint32_t lo = (uint32_t)w ^ c, hi = (uint32_t)(w >> 32);
        c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
            table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
    return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

// Three-way interleaving (after Mark Adler's crc32c.c): the `crc32` instruction has a latency of 3 cycles and a
// throughput of 1 per cycle, so three independent streams over three consecutive blocks run about three times as
// fast as one. The streams are joined by "shifting" a CRC over the length of the block that follows it, which is
// multiplying it by a fixed GF(2) matrix, applied through four 256-entry tables per block length.
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    while (vector) {
        if (vector & 1) sum ^= *matrix;
        vector >>= 1;
        matrix++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

// The operator that appends `length` zero bytes to a CRC (without pre- and post-conditioning); `length` a power
// of two.
static void zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    odd[0] = 0x82F63B78u;  // one zero bit
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four zero bits
    do {
        gf2_square(even, odd);  // first pass: one zero byte
        length >>= 1;
        if (length == 0) return;
        gf2_square(odd, even);
        length >>= 1;
    } while (length);
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void shift_tables(uint32_t tables[4][256], size_t length) {
    uint32_t op[32];
    zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        tables[0][n] = gf2_times(op, n);
        tables[1][n] = gf2_times(op, n << 8);
        tables[2][n] = gf2_times(op, n << 16);
        tables[3][n] = gf2_times(op, n << 24);
    }
}

static void build_shift_tables(void) {
    shift_tables(shift_long, LONG_BLOCK);
    shift_tables(shift_short, SHORT_BLOCK);
}

static inline uint32_t shift(uint32_t tables[4][256], uint32_t crc) {
    return tables[0][crc & 0xFF] ^ tables[1][(crc >> 8) & 0xFF] ^ tables[2][(crc >> 16) & 0xFF] ^
           tables[3][crc >> 24];
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

// Runs three streams over three consecutive blocks of `block` bytes for as long as `length` allows.
__attribute__((target("sse4.2")))
static inline uint64_t interleaved(uint64_t c0, const uint8_t **p, size_t *length, size_t block,
                                   uint32_t tables[4][256]) {
    while (*length >= 3 * block) {
        const uint8_t *q = *p;
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < block; i += 8) {
            c0 = _mm_crc32_u64(c0, load64(q + i));
            c1 = _mm_crc32_u64(c1, load64(q + block + i));
            c2 = _mm_crc32_u64(c2, load64(q + 2 * block + i));
        }
        c0 = shift(tables, (uint32_t)c0) ^ (uint32_t)c1;
        c0 = shift(tables, (uint32_t)c0) ^ (uint32_t)c2;
        *p += 3 * block;
        *length -= 3 * block;
    }
    return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = ~crc;
    if (length >= 3 * SHORT_BLOCK) {
        pthread_once(&shift_once, build_shift_tables);
        c = interleaved(c, &p, &length, LONG_BLOCK, shift_long);
        c = interleaved(c, &p, &length, SHORT_BLOCK, shift_short);
    }
    while (length >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

static int has_sse42(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return cached;
}

int godis_crc32c_hardware(void) { return has_sse42(); }

uint32_t godis_crc32c_extend(uint32_t crc, const void *data, size_t length) {
    if (has_sse42()) return crc32c_sse42(crc, data, length);
    return godis_crc32c_extend_portable(crc, data, length);
}
#else
int godis_crc32c_hardware(void) { return 0; }
uint32_t godis_crc32c_extend(uint32_t crc, const void *data, size_t length) {
    return godis_crc32c_extend_portable(crc, data, length);
}
#endif
