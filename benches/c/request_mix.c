/* Operations per second of a request-like mix through the C ABI, with 1 and 2 threads:
 * each request touches its session, checks a privilege, reads storage, and one in ten writes
 * storage. Usage: request_mix [sessions] [seconds-per-run]  (defaults: 100000 and 2). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static char **ids;
static size_t session_count;
static double seconds_per_run;

typedef struct {
    unsigned seed;
    unsigned long long requests;
} runner;

static void *run(void *arg) {
    runner *r = (runner *)arg;
    double deadline = now_seconds() + seconds_per_run;
    unsigned long long n = 0;
    while ((n & 1023) != 0 || now_seconds() < deadline) {
        const char *id;
        bool has = false;
        char *value = NULL;
        r->seed ^= r->seed << 13;
        r->seed ^= r->seed >> 17;
        r->seed ^= r->seed << 5;
        id = ids[r->seed % session_count];
        must(sessmgr_session_touch(id), "touch");
        must(sessmgr_session_has_privilege(id, "WebAdmin", &has), "has_privilege");
        must(sessmgr_storage_get(id, "/user", &value), "storage_get");
        sessmgr_string_free(value);
        if (n % 10 == 0) {
            must(sessmgr_storage_set(id, "/hits", "1"), "storage_set");
        }
        n++;
    }
    r->requests = n;
    return NULL;
}

static double measure(int threads) {
    pthread_t handles[2];
    runner runners[2];
    double start = now_seconds();
    unsigned long long total = 0;
    int i;
    for (i = 0; i < threads; i++) {
        runners[i].seed = 0x9E3779B9u * (unsigned)(i + 1);
        runners[i].requests = 0;
        pthread_create(&handles[i], NULL, run, &runners[i]);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(handles[i], NULL);
        total += runners[i].requests;
    }
    return (double)total / (now_seconds() - start);
}

int main(int argc, char **argv) {
    size_t i;
    double one;
    double two;
    session_count = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    seconds_per_run = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    ids = (char **)calloc(session_count, sizeof(char *));
    for (i = 0; i < session_count; i++) {
        must(sessmgr_session_create(NULL, &ids[i]), "create");
        must(sessmgr_session_set_privileges(ids[i], (i % 2) ? "WebAdmin" : "", NULL), "set_privileges");
        must(sessmgr_storage_set(ids[i], "/user", "{\"name\":\"user\",\"cart\":[1,2,3]}"), "storage_set");
    }
    one = measure(1);
    two = measure(2);
    printf("request_mix sessions=%zu one_thread=%.0f two_threads=%.0f ratio=%.2f\n", session_count, one, two,
           two / one);
    for (i = 0; i < session_count; i++) {
        sessmgr_string_free(ids[i]);
    }
    free(ids);
    return 0;
}
