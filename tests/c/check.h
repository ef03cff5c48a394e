/* Small helpers shared by the C test programs. Valid C99 and C++17. */
#ifndef SESSMGR_TEST_CHECK_H
#define SESSMGR_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessmgr.h"

static int check_failures = 0;

/* With SESSMGR_TEST_STORE set (a sessmgr_configure object naming the store: the Redis store
 * that tests/c_programs.rs started), the program runs on that store. Call it first, and again
 * after every sessmgr_reset (which goes back to memory). */
static inline int on_test_store(void) {
    const char *store = getenv("SESSMGR_TEST_STORE");
    return store != NULL && store[0] != '\0';
}

static inline void use_test_store(void) {
    if (on_test_store() && sessmgr_configure(getenv("SESSMGR_TEST_STORE")) != SESSMGR_OK) {
        fprintf(stderr, "cannot use the test store: %s\n", sessmgr_last_error());
        exit(1);
    }
}

/* A call that must succeed. */
#define OK(call)                                                                            \
    do {                                                                                    \
        sessmgr_status ok_status_ = (call);                                                 \
        if (ok_status_ != SESSMGR_OK) {                                                     \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #call,       \
                    (int)ok_status_, sessmgr_last_error());                                 \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

/* A call that must fail with `expected`, leaving a message behind. */
#define FAILS(expected, call)                                                               \
    do {                                                                                    \
        sessmgr_status fails_status_ = (call);                                              \
        if (fails_status_ != (expected)) {                                                  \
            fprintf(stderr, "%s:%d: %s returned %d, expected %s (%d): %s\n", __FILE__,      \
                    __LINE__, #call, (int)fails_status_, #expected, (int)(expected),        \
                    sessmgr_last_error());                                                  \
            check_failures++;                                                               \
        } else if (sessmgr_last_error()[0] == '\0') {                                       \
            fprintf(stderr, "%s:%d: %s failed without a message\n", __FILE__, __LINE__,    \
                    #call);                                                                 \
            check_failures++;                                                               \
        }                                                                                   \
    } while (0)

#define CHECK(condition)                                                                    \
    do {                                                                                    \
        if (!(condition)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);  \
            check_failures++;                                                               \
        }                                                                                   \
    } while (0)

#define CHECK_STR(actual, expected)                                                         \
    do {                                                                                    \
        const char *check_a_ = (actual);                                                    \
        const char *check_e_ = (expected);                                                  \
        if (check_a_ == NULL || strcmp(check_a_, check_e_) != 0) {                          \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__,   \
                    #actual, check_a_ ? check_a_ : "(null)", check_e_);                     \
            check_failures++;                                                               \
        }                                                                                   \
    } while (0)

/* Copies the text of "key":"value" out of flat JSON whose values hold no escapes. */
static inline int json_text_field(const char *json, const char *key, char *out, size_t size) {
    char pattern[128];
    const char *start;
    const char *end;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    start = strstr(json, pattern);
    if (start == NULL) {
        return 0;
    }
    start += strlen(pattern);
    end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= size) {
        return 0;
    }
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return 1;
}

/* Whether text looks like YYYY-MM-DDTHH:MM:SS.mmmZ. */
static inline int is_iso8601_millis(const char *text) {
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t i;
    if (strlen(text) != strlen(shape)) {
        return 0;
    }
    for (i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != shape[i]) {
            return 0;
        }
    }
    return 1;
}

static inline int finish(const char *program) {
    if (check_failures > 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", program, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", program);
    return 0;
}

#endif
