#include "godis_hash.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

uint64_t godis_hash_key[2];

// Before main, so the key never changes once a table exists.
__attribute__((constructor)) static void godis_hash_seed(void) {
#if defined(__linux__)
    if (getrandom(godis_hash_key, sizeof godis_hash_key, 0) == (ssize_t)sizeof godis_hash_key) return;
#else
    arc4random_buf(godis_hash_key, sizeof godis_hash_key);
    return;
#endif
    // No random source: still differ between processes.
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    godis_hash_key[0] = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    godis_hash_key[1] = (uint64_t)t.tv_sec * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)getppid();
}
