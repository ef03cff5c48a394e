/* Growing text buffers and JSON strings, for the example HTTP host. */
#ifndef HTTP_HOST_TEXT_H
#define HTTP_HOST_TEXT_H

#include <stddef.h>

struct text {
    char *data; /* NUL-terminated; NULL until something is added */
    size_t len;
    size_t cap;
};

/* Appends `n` bytes (the host stops on want of memory: an example has no better answer). */
void text_add(struct text *t, const char *bytes, size_t n);
void text_str(struct text *t, const char *s);
/* Appends a JSON string literal holding `s`, quotes included; `<`, `>` and `&` are escaped
 * too, so that the text is safe inside HTML as well. */
void text_json(struct text *t, const char *s);
/* The buffer's text ("" when empty); the buffer keeps it. */
const char *text_get(const struct text *t);
void text_free(struct text *t);

/* Reads a whole file; NULL (and a message on stderr) if it cannot. */
char *read_file(const char *path);

/* True if `s` is 1 to 9 decimal digits: what the host takes as a number from a form. */
int is_small_number(const char *s);

#endif
