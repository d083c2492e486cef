// Latency of one small write + fdatasync, the step `appendfsync always` takes once per event-loop tick, with the
// file prepared four ways. Not part of the build.
//
//   cc -O2 -o /tmp/fsync-bench Tools/fsync-bench.c && /tmp/fsync-bench MODE CHUNK COUNT [PATH]
//
// MODE 0: plain appends. 1: appends into blocks reserved with fallocate(FALLOC_FL_KEEP_SIZE) (what the writer
// does under everysec and no). 2: overwrites of zeros written and synced beforehand (what it does under always).
// 3: writes into a file extended with fallocate (allocated but unwritten blocks). PATH defaults to
// $TMPDIR/fsync-bench.dat (or /tmp), which must be on the file system to measure; the file is removed at the end.
// Measured on the project's machine (ext4, 5000-byte writes, 2000 of them): 139, 141, 85 and 139 us per write.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODE CHUNK COUNT [PATH]\n", argv[0]);
        return 2;
    }
    int mode = atoi(argv[1]);
    size_t chunk = (size_t)atol(argv[2]);
    int count = atoi(argv[3]);
    char path[4096];
    if (argc > 4) {
        snprintf(path, sizeof path, "%s", argv[4]);
    } else {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fsync-bench.dat", dir ? dir : "/tmp");
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    off_t total = (off_t)chunk * count + (1 << 20);
    char *buf = malloc(chunk);
    memset(buf, 'x', chunk);
    if (mode == 1) fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, total);
    if (mode == 2) {
        char *zeros = calloc(1, 1 << 20);
        for (off_t o = 0; o < total; o += 1 << 20) pwrite(fd, zeros, 1 << 20, o);
        fsync(fd);
        free(zeros);
    }
    if (mode == 3) {
        fallocate(fd, 0, 0, total);
        fsync(fd);
    }
    double start = now();
    for (int i = 0; i < count; i++) {
        if (pwrite(fd, buf, chunk, (off_t)i * chunk) != (ssize_t)chunk || fdatasync(fd) != 0) {
            perror("write");
            return 1;
        }
    }
    double elapsed = now() - start;
    printf("mode %d, %zu-byte writes: %.1f us per write + fdatasync\n", mode, chunk, elapsed / count * 1e6);
    close(fd);
    unlink(path);
    free(buf);
    return 0;
}
