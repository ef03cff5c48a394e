/* Stopping the background sweeper while it runs the host's event handler. The handler takes a
 * host mutex; the sweeper's thread enters it for an expired session and waits for that mutex;
 * the thread holding the mutex then stops the sweeper (sweepIntervalSeconds 0) or resets the
 * registry. Neither call may wait for the handler, which waits for the caller: that would hang
 * the host forever. alarm() turns a hang into a failure. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static pthread_mutex_t host = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t state_changed = PTHREAD_COND_INITIALIZER;
static pthread_t main_thread;
/* Handler calls on another thread (the sweeper's) waiting for `host`, or past it. */
static int waiting = 0;
static int running = 0;
static int expired = 0;

static void change(int *counter, int by) {
    pthread_mutex_lock(&state_lock);
    *counter += by;
    pthread_cond_broadcast(&state_changed);
    pthread_mutex_unlock(&state_lock);
}

static int read_counter(const int *counter) {
    int value;
    pthread_mutex_lock(&state_lock);
    value = *counter;
    pthread_mutex_unlock(&state_lock);
    return value;
}

static void handler(const char *event_json, void *user_data) {
    (void)user_data;
    if (!pthread_equal(pthread_self(), main_thread)) {
        uint64_t count = 0;
        change(&running, 1);
        change(&waiting, 1);
        pthread_mutex_lock(&host);
        change(&waiting, -1);
        pthread_mutex_unlock(&host);
        /* A handler may call back into the library. */
        if (sessmgr_session_count(&count) != SESSMGR_OK) {
            fprintf(stderr, "session_count from the handler: %s\n", sessmgr_last_error());
            exit(1);
        }
    }
    if (strstr(event_json, "\"event\":\"expired\"") != NULL) {
        change(&expired, 1);
    }
    if (!pthread_equal(pthread_self(), main_thread)) {
        change(&running, -1);
    }
}

static void pause_ms(long ms) {
    struct timespec delay;
    delay.tv_sec = ms / 1000;
    delay.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&delay, NULL);
}

/* Waits until a handler call on the sweeper's thread waits for `host` (returns 1), or until
 * `want` expired events were delivered without that (returns 0: this thread won the race to
 * the queue and delivered them itself). */
static int wait_for_delivery(int want) {
    int blocked;
    pthread_mutex_lock(&state_lock);
    while (waiting == 0 && expired < want) {
        pthread_cond_wait(&state_changed, &state_lock);
    }
    blocked = waiting > 0;
    pthread_mutex_unlock(&state_lock);
    return blocked;
}

static void wait_until_no_call_runs(void) {
    pthread_mutex_lock(&state_lock);
    while (running > 0) {
        pthread_cond_wait(&state_changed, &state_lock);
    }
    pthread_mutex_unlock(&state_lock);
}

/* Two web sessions, expired on the manual clock, with the handler installed. Returns the
 * number of expired events seen so far. */
static int two_expired_sessions(void) {
    int i;
    OK(sessmgr_configure("{\"clock\":\"manual\",\"minIdleTimeout\":1,\"defaultIdleTimeout\":1}"));
    OK(sessmgr_set_event_handler(handler, NULL));
    for (i = 0; i < 2; i++) {
        char *id = NULL;
        OK(sessmgr_session_create(NULL, &id));
        sessmgr_string_free(id);
    }
    OK(sessmgr_clock_advance(61));
    return read_counter(&expired);
}

/* The sweeper is stopped while its handler waits for `host`; both events still arrive, once.
 * Returns whether the handler was waiting (rather than this thread delivering). */
static int stop_while_delivering(void) {
    int before = two_expired_sessions();
    int blocked;
    pthread_mutex_lock(&host);
    OK(sessmgr_configure("{\"sweepIntervalSeconds\":1}"));
    blocked = wait_for_delivery(before + 2);
    OK(sessmgr_configure("{\"sweepIntervalSeconds\":0}"));
    pthread_mutex_unlock(&host);
    pthread_mutex_lock(&state_lock);
    while (expired < before + 2) {
        pthread_cond_wait(&state_changed, &state_lock);
    }
    pthread_mutex_unlock(&state_lock);
    wait_until_no_call_runs();
    pause_ms(50);
    CHECK(read_counter(&expired) == before + 2);
    OK(sessmgr_reset());
    return blocked;
}

/* The registry is reset while the sweeper's handler waits for `host`: the call under way ends
 * after the reset, and the other expired event, the reset registry's, is never delivered. */
static int reset_while_delivering(void) {
    int before = two_expired_sessions();
    int blocked;
    uint64_t count = 99;
    pthread_mutex_lock(&host);
    OK(sessmgr_configure("{\"sweepIntervalSeconds\":1}"));
    blocked = wait_for_delivery(before + 2);
    OK(sessmgr_reset());
    OK(sessmgr_session_count(&count));
    CHECK(count == 0);
    pthread_mutex_unlock(&host);
    wait_until_no_call_runs();
    pause_ms(100);
    if (blocked) {
        CHECK(read_counter(&expired) == before + 1);
    }
    return blocked;
}

int main(void) {
    int attempt;
    int stopped = 0;
    int reset = 0;
    /* Generous for valgrind; a hang is killed by SIGALRM and fails the test. */
    alarm(120);
    main_thread = pthread_self();
    /* This thread may win the race to the queue and deliver the events itself; try again
     * until the sweeper's thread was the one waiting in the handler (it nearly always is at
     * once; 1,000 attempts only bound a failure). */
    for (attempt = 0; attempt < 1000 && !stopped; attempt++) {
        stopped = stop_while_delivering();
    }
    for (attempt = 0; attempt < 1000 && !reset; attempt++) {
        reset = reset_while_delivering();
    }
    CHECK(stopped);
    CHECK(reset);
    return finish("sweeper_stop");
}
