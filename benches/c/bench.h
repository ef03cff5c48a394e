/* What the C benchmarks share: a monotonic clock in seconds, and stopping at a failed call. */
#ifndef SESSMGR_BENCH_H
#define SESSMGR_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sessmgr.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void must(sessmgr_status status, const char *what) {
    if (status != SESSMGR_OK) {
        fprintf(stderr, "%s: %d %s\n", what, (int)status, sessmgr_last_error());
        exit(1);
    }
}

#endif
