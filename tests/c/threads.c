/* 8 threads, 10,000 mixed operations each (500 on the Redis store, where each is a round trip),
 * on one registry: no increment lost, no session lost or duplicated. The threads race for
 * certain: they start together (a gate opened once all are waiting at it), and each goes on
 * incrementing the shared counter until every thread has found, 10 times at least, that another
 * thread's increment landed between two of its own. */
#include <pthread.h>
#include <sched.h>

#include "check.h"

#define THREADS 8
#define OPERATIONS 10000
#define OPERATIONS_ON_REDIS 500
#define KEEP 16
#define INTERLEAVINGS 10

/* The start gate, and the threads that have met their interleavings. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_changed = PTHREAD_COND_INITIALIZER;
static int waiting_at_gate = 0;
static int gate_open = 0;
static int threads_satisfied = 0;

typedef struct {
    int index;
    char *shared;
    char *live[KEEP];
    int live_count;
    char **created;
    int created_count;
    int closed_count;
    long increments;
    /* The counter this thread's last increment wrote, and how often the next one found another
     * thread's increment in between. */
    long last_written;
    long interleavings;
    int satisfied;
    int errors;
} worker;

static int32_t increment(sessmgr_update *update, const char *current, void *user_data) {
    const char *at = strstr(current, "\"n\":");
    long n = at != NULL ? strtol(at + 4, NULL, 10) : 0;
    char next[64];
    worker *w = (worker *)user_data;
    /* (On the Redis store a callback may run again; the run that lands sets these last.) */
    if (w->last_written >= 0 && n != w->last_written) {
        w->interleavings++;
    }
    w->last_written = n + 1;
    /* Host code takes time: let other threads in between the read and the write. */
    sched_yield();
    snprintf(next, sizeof next, "{\"n\":%ld}", n + 1);
    return sessmgr_update_set(update, next) == SESSMGR_OK ? SESSMGR_UPDATE_COMMIT : SESSMGR_UPDATE_ABORT;
}

static unsigned next_random(unsigned *state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

#define MUST(w, call)                                                                       \
    do {                                                                                    \
        if ((call) != SESSMGR_OK) {                                                         \
            fprintf(stderr, "thread %d: %s: %s\n", (w)->index, #call, sessmgr_last_error()); \
            (w)->errors++;                                                                  \
        }                                                                                   \
    } while (0)

/* Whether every thread has met its interleavings, counting this one's now. */
static int all_satisfied(worker *w) {
    int all;
    pthread_mutex_lock(&gate_lock);
    if (!w->satisfied && w->interleavings >= INTERLEAVINGS) {
        w->satisfied = 1;
        threads_satisfied++;
    }
    all = threads_satisfied == THREADS;
    pthread_mutex_unlock(&gate_lock);
    return all;
}

static void *work(void *arg) {
    worker *w = (worker *)arg;
    unsigned seed = 2463534242u + (unsigned)w->index * 7919u;
    int i;
    int operations = on_test_store() ? OPERATIONS_ON_REDIS : OPERATIONS;
    pthread_mutex_lock(&gate_lock);
    waiting_at_gate++;
    pthread_cond_broadcast(&gate_changed);
    while (!gate_open) {
        pthread_cond_wait(&gate_changed, &gate_lock);
    }
    pthread_mutex_unlock(&gate_lock);
    for (i = 0; i < operations || !all_satisfied(w); i++) {
        if (i >= operations) {
            /* Past its operations: the shared counter only, until every thread has raced. */
            MUST(w, sessmgr_storage_update(w->shared, increment, w));
            w->increments++;
            continue;
        }
        int op = i % 7;
        char *id;
        if (w->live_count == 0) {
            op = 0;
        }
        id = w->live_count > 0 ? w->live[next_random(&seed) % (unsigned)w->live_count] : NULL;
        switch (op) {
        case 0: {
            char *created = NULL;
            if (w->live_count == KEEP) {
                break;
            }
            MUST(w, sessmgr_session_create(NULL, &created));
            if (created != NULL) {
                w->live[w->live_count++] = created;
                w->created[w->created_count++] = created;
            }
            break;
        }
        case 1: {
            char identifier[64];
            snprintf(identifier, sizeof identifier, "worker-%d-op-%d", w->index, i);
            MUST(w, sessmgr_session_set_identifier(id, identifier));
            break;
        }
        case 2:
            MUST(w, sessmgr_session_set_privileges(id, (i & 8) ? "WebAdmin" : "", NULL));
            break;
        case 3: {
            bool has = false;
            MUST(w, sessmgr_session_has_privilege(id, "WebAdmin", &has));
            break;
        }
        case 4:
            MUST(w, sessmgr_storage_update(w->shared, increment, w));
            w->increments++;
            break;
        case 5: {
            char *info = NULL;
            MUST(w, sessmgr_session_info(id, &info));
            if (info != NULL && strstr(info, id) == NULL) {
                fprintf(stderr, "thread %d: info of %s names another session: %s\n", w->index, id, info);
                w->errors++;
            }
            sessmgr_string_free(info);
            break;
        }
        default: {
            int k = (int)(next_random(&seed) % (unsigned)w->live_count);
            if (w->live_count < KEEP / 2) {
                break;
            }
            MUST(w, sessmgr_session_close(w->live[k]));
            w->live[k] = w->live[--w->live_count];
            w->closed_count++;
            break;
        }
        }
    }
    return NULL;
}

static int compare_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    worker workers[THREADS];
    pthread_t threads[THREADS];
    char *value = NULL;
    char expected[64];
    char **all;
    long increments = 0;
    int total_created = 0;
    int total_closed = 0;
    int i;
    int j;
    uint64_t count = 0;
    char *shared = NULL;
    use_test_store();

    OK(sessmgr_session_create("{\"type\":\"rest\"}", &shared));
    for (i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        workers[i].shared = shared;
        workers[i].created = (char **)calloc(OPERATIONS, sizeof(char *));
        workers[i].last_written = -1;
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    /* Every thread at the gate, then all at once. */
    pthread_mutex_lock(&gate_lock);
    while (waiting_at_gate < THREADS) {
        pthread_cond_wait(&gate_changed, &gate_lock);
    }
    gate_open = 1;
    pthread_cond_broadcast(&gate_changed);
    pthread_mutex_unlock(&gate_lock);
    for (i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(workers[i].errors == 0);
        increments += workers[i].increments;
        total_created += workers[i].created_count;
        total_closed += workers[i].closed_count;
    }

    /* No increment lost, on the shared session or on each worker's own. */
    OK(sessmgr_storage_get(shared, "/n", &value));
    snprintf(expected, sizeof expected, "%ld", increments);
    CHECK_STR(value, expected);
    sessmgr_string_free(value);

    /* No session lost or duplicated. */
    OK(sessmgr_session_count(&count));
    CHECK(count == (uint64_t)(1 + total_created - total_closed));
    all = (char **)calloc((size_t)total_created, sizeof(char *));
    for (i = 0, j = 0; i < THREADS; i++) {
        int k;
        for (k = 0; k < workers[i].created_count; k++) {
            all[j++] = workers[i].created[k];
        }
    }
    qsort(all, (size_t)total_created, sizeof(char *), compare_text);
    for (i = 1; i < total_created; i++) {
        CHECK(strcmp(all[i - 1], all[i]) != 0);
    }
    for (i = 0; i < THREADS; i++) {
        int k;
        for (k = 0; k < workers[i].live_count; k++) {
            char *info = NULL;
            OK(sessmgr_session_info(workers[i].live[k], &info));
            sessmgr_string_free(info);
        }
    }
    for (i = 0; i < THREADS; i++) {
        CHECK(workers[i].interleavings >= INTERLEAVINGS);
    }
    printf("threads: %d sessions created, %d closed, %ld counter increments\n", total_created, total_closed,
           increments);
    for (i = 0; i < total_created; i++) {
        sessmgr_string_free(all[i]);
    }
    for (i = 0; i < THREADS; i++) {
        free(workers[i].created);
    }
    free(all);
    sessmgr_string_free(shared);
    return finish("threads");
}
