/* The read path against a floor, and how reads scale across threads (issue 15).
 *
 *   read_probe floor [sessions] [lookups]
 *       has_privilege through the C ABI against a C open-addressing table of pre-parsed keys
 *       with 256-byte records: the same keys in the same order, best of 5 runs of each.
 *   read_probe scaling [sessions] [seconds]
 *       reads (has_privilege + storage_get of one small top-level key) with 10% writes to other
 *       sessions (storage_set), on 1 and on 2 threads: requests per second and their ratio.
 *   read_probe readers [seconds]
 *       64 threads reading one session's storage against 1 thread writing it: reads per second.
 *
 * Each mode prints one JSON line. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* n web sessions holding WebAdmin, each with a storage of {"user": "ann", "hits": 0}. */
static char **fill(size_t n) {
    char config[128];
    char **ids = malloc(n * sizeof *ids);
    size_t i;
    must(sessmgr_reset(), "reset");
    snprintf(config, sizeof config, "{\"maxSessions\": %zu}", n + 1000);
    must(sessmgr_configure(config), "configure");
    for (i = 0; i < n; i++) {
        must(sessmgr_session_create(NULL, &ids[i]), "create");
        must(sessmgr_session_set_privileges(ids[i], "{\"privileges\":\"WebAdmin\",\"userName\":\"ann\"}", NULL),
             "set_privileges");
        must(sessmgr_storage_set(ids[i], "", "{\"user\":\"ann\",\"hits\":0}"), "storage_set");
    }
    return ids;
}

/* --- floor ---------------------------------------------------------------------------------- */

typedef struct {
    uint64_t hi, lo; /* the parsed ID; 0, 0 is an empty place */
    uint64_t privileges;
    unsigned char rest[256 - 3 * sizeof(uint64_t)];
} record;

static uint64_t hex_word(const char *text) {
    uint64_t value = 0;
    int i;
    for (i = 0; i < 16; i++) {
        char c = text[i];
        value = value << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return value;
}

static size_t place_of(uint64_t hi, uint64_t lo, size_t mask) {
    return (size_t)((hi ^ (lo * 0x9E3779B97F4A7C15ull)) >> 7) & mask;
}

static double best_of_5(double (*run)(void *), void *arg) {
    double best = 1e30;
    int i;
    for (i = 0; i < 5; i++) {
        double t = run(arg);
        if (t < best) best = t;
    }
    return best;
}

typedef struct {
    record *table;
    size_t mask;
    uint64_t *keys; /* hi, lo per lookup */
    char **texts;   /* the same lookups as C text */
    size_t lookups;
    uint64_t sink;
} probe;

static double run_floor(void *arg) {
    probe *p = arg;
    double start = now_seconds();
    size_t i;
    uint64_t found = 0;
    for (i = 0; i < p->lookups; i++) {
        uint64_t hi = p->keys[2 * i], lo = p->keys[2 * i + 1];
        size_t at = place_of(hi, lo, p->mask);
        while (p->table[at].hi != hi || p->table[at].lo != lo) at = (at + 1) & p->mask;
        found += p->table[at].privileges & 1;
    }
    p->sink += found;
    return (now_seconds() - start) / (double)p->lookups;
}

static double run_sessmgr(void *arg) {
    probe *p = arg;
    double start = now_seconds();
    size_t i;
    uint64_t found = 0;
    for (i = 0; i < p->lookups; i++) {
        bool has = false;
        must(sessmgr_session_has_privilege(p->texts[i], "WebAdmin", &has), "has_privilege");
        found += has;
    }
    p->sink += found;
    return (now_seconds() - start) / (double)p->lookups;
}

static void floor_mode(size_t n, size_t lookups) {
    char **ids = fill(n);
    size_t capacity = 1, i;
    uint64_t state = 0x9E3779B97F4A7C15ull;
    probe p;
    double floor_ns, sessmgr_ns;
    while (capacity < 2 * n) capacity <<= 1;
    p.table = calloc(capacity, sizeof *p.table);
    p.mask = capacity - 1;
    for (i = 0; i < n; i++) {
        uint64_t hi = hex_word(ids[i]), lo = hex_word(ids[i] + 16);
        size_t at = place_of(hi, lo, p.mask);
        while (p.table[at].hi != 0 || p.table[at].lo != 0) at = (at + 1) & p.mask;
        p.table[at].hi = hi;
        p.table[at].lo = lo;
        p.table[at].privileges = 1;
    }
    p.lookups = lookups;
    p.keys = malloc(2 * lookups * sizeof *p.keys);
    p.texts = malloc(lookups * sizeof *p.texts);
    for (i = 0; i < lookups; i++) {
        size_t which = (size_t)(next_random(&state) % n);
        p.texts[i] = ids[which];
        p.keys[2 * i] = hex_word(ids[which]);
        p.keys[2 * i + 1] = hex_word(ids[which] + 16);
    }
    p.sink = 0;
    floor_ns = best_of_5(run_floor, &p) * 1e9;
    sessmgr_ns = best_of_5(run_sessmgr, &p) * 1e9;
    if (p.sink != 10 * (uint64_t)lookups) {
        fprintf(stderr, "a lookup missed\n");
        exit(1);
    }
    printf("{\"mode\": \"floor\", \"sessions\": %zu, \"lookups\": %zu, \"floor_ns\": %.2f, "
           "\"has_privilege_ns\": %.2f, \"ratio\": %.2f}\n",
           n, lookups, floor_ns, sessmgr_ns, sessmgr_ns / floor_ns);
    free(p.table);
    free(p.keys);
    free(p.texts);
    for (i = 0; i < n; i++) sessmgr_string_free(ids[i]);
    free(ids);
}

/* --- scaling --------------------------------------------------------------------------------- */

static char **scaling_ids;
static size_t scaling_n;
static double scaling_seconds;

typedef struct {
    uint64_t seed;
    unsigned long long requests;
} runner;

static void *read_mix(void *arg) {
    runner *r = arg;
    double deadline = now_seconds() + scaling_seconds;
    unsigned long long n = 0;
    while ((n & 1023) != 0 || now_seconds() < deadline) {
        const char *id = scaling_ids[next_random(&r->seed) % scaling_n];
        if (n % 10 == 9) {
            must(sessmgr_storage_set(id, "/hits", "1"), "storage_set");
        } else {
            bool has = false;
            char *value = NULL;
            must(sessmgr_session_has_privilege(id, "WebAdmin", &has), "has_privilege");
            must(sessmgr_storage_get(id, "/user", &value), "storage_get");
            sessmgr_string_free(value);
        }
        n++;
    }
    r->requests = n;
    return NULL;
}

static double scaling_run(int threads) {
    pthread_t handles[2];
    runner runners[2];
    double total = 0;
    int i;
    for (i = 0; i < threads; i++) {
        runners[i].seed = 0x9E3779B97F4A7C15ull + (uint64_t)i * 7919;
        pthread_create(&handles[i], NULL, read_mix, &runners[i]);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(handles[i], NULL);
        total += (double)runners[i].requests;
    }
    return total / scaling_seconds;
}

static void scaling_mode(size_t n, double seconds) {
    double one = 0, two = 0;
    int round;
    scaling_ids = fill(n);
    scaling_n = n;
    scaling_seconds = seconds;
    /* Interleaved, best of 3 each: this VM's speed moves between runs. */
    for (round = 0; round < 3; round++) {
        double a = scaling_run(1), b = scaling_run(2);
        if (a > one) one = a;
        if (b > two) two = b;
    }
    printf("{\"mode\": \"scaling\", \"sessions\": %zu, \"one_thread\": %.0f, \"two_threads\": %.0f, "
           "\"ratio\": %.3f}\n",
           n, one, two, two / one);
}

/* --- many readers, one writer ----------------------------------------------------------------- */

#define READERS 64
static char *shared_id;
static volatile int stop_all;

static void *reader(void *arg) {
    unsigned long long *count = arg;
    unsigned long long n = 0;
    while (!stop_all) {
        char *value = NULL;
        must(sessmgr_storage_get(shared_id, "/user", &value), "storage_get");
        sessmgr_string_free(value);
        n++;
    }
    *count = n;
    return NULL;
}

static void *writer(void *arg) {
    unsigned long long *count = arg;
    unsigned long long n = 0;
    while (!stop_all) {
        must(sessmgr_storage_set(shared_id, "/hits", n % 2 ? "1" : "2"), "storage_set");
        n++;
    }
    *count = n;
    return NULL;
}

static void readers_mode(double seconds) {
    pthread_t handles[READERS + 1];
    unsigned long long counts[READERS + 1];
    unsigned long long reads = 0;
    char **ids = fill(1);
    struct timespec pause;
    int i;
    shared_id = ids[0];
    stop_all = 0;
    for (i = 0; i < READERS; i++) pthread_create(&handles[i], NULL, reader, &counts[i]);
    pthread_create(&handles[READERS], NULL, writer, &counts[READERS]);
    pause.tv_sec = (time_t)seconds;
    pause.tv_nsec = (long)((seconds - (double)pause.tv_sec) * 1e9);
    nanosleep(&pause, NULL);
    stop_all = 1;
    for (i = 0; i <= READERS; i++) pthread_join(handles[i], NULL);
    for (i = 0; i < READERS; i++) reads += counts[i];
    printf("{\"mode\": \"readers\", \"readers\": %d, \"reads_per_second\": %.0f, "
           "\"writes_per_second\": %.0f}\n",
           READERS, (double)reads / seconds, (double)counts[READERS] / seconds);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "floor";
    if (strcmp(mode, "floor") == 0) {
        floor_mode(argc > 2 ? (size_t)atol(argv[2]) : 100000, argc > 3 ? (size_t)atol(argv[3]) : 1000000);
    } else if (strcmp(mode, "scaling") == 0) {
        scaling_mode(argc > 2 ? (size_t)atol(argv[2]) : 1000, argc > 3 ? atof(argv[3]) : 1.0);
    } else if (strcmp(mode, "readers") == 0) {
        readers_mode(argc > 2 ? atof(argv[2]) : 1.0);
    } else {
        fprintf(stderr, "usage: read_probe floor|scaling|readers [...]\n");
        return 2;
    }
    return 0;
}
