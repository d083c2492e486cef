// Cost of appending to a file through the page cache, per byte, for a given write size: the floor of the log's
// `write` under `appendfsync everysec`/`no` (see the issue-3 notes). Not part of the build.
//
//   cc -O2 -o /tmp/pagecache-bench Tools/pagecache-bench.c
//   /tmp/pagecache-bench MODE CHUNK TOTAL [PATH]    MODE 0 plain, 1 fallocate first, 2 fdatasync every second
//   e.g. /tmp/pagecache-bench 0 65536 400000000
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODE CHUNK TOTAL [PATH]\n", argv[0]);
        return 2;
    }
    int mode = atoi(argv[1]);
    size_t chunk = (size_t)atol(argv[2]);
    size_t total = (size_t)atol(argv[3]);
    const char *path = argc > 4 ? argv[4] : "/tmp/pagecache-bench.dat";
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0644);
    if (fd < 0 || chunk == 0) {
        perror(path);
        return 1;
    }
    if (mode == 1) fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)total);
    char *buffer = malloc(chunk);
    memset(buffer, 'x', chunk);
    double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID), lastSync = wall0;
    for (size_t written = 0; written < total; written += chunk) {
        if (write(fd, buffer, chunk) != (ssize_t)chunk) {
            perror("write");
            return 1;
        }
        if (mode == 2 && seconds(CLOCK_MONOTONIC) - lastSync > 1.0) {
            fdatasync(fd);
            lastSync = seconds(CLOCK_MONOTONIC);
        }
    }
    double wall = seconds(CLOCK_MONOTONIC) - wall0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    printf("mode %d chunk %zu: %.2f ns/byte wall, %.2f ns/byte cpu, %.0f MB/s\n", mode, chunk, wall / total * 1e9,
        cpu / total * 1e9, total / wall / 1e6);
    unlink(path);
    free(buffer);
    return 0;
}
