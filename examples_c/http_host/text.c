/* Growing text buffers and JSON strings, for the example HTTP host. */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_add(struct text *t, const char *bytes, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        t->data = realloc(t->data, cap);
        if (t->data == NULL) {
            fputs("http_host: out of memory\n", stderr);
            abort();
        }
        t->cap = cap;
    }
    memcpy(t->data + t->len, bytes, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void text_str(struct text *t, const char *s) { text_add(t, s, strlen(s)); }

void text_json(struct text *t, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    text_add(t, "\"", 1);
    for (; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char escaped[2] = {'\\', (char)*p};
            text_add(t, escaped, 2);
        } else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' || *p == 0x7f) {
            char escaped[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            text_add(t, escaped, 6);
        } else {
            text_add(t, (const char *)p, 1);
        }
    }
    text_add(t, "\"", 1);
}

const char *text_get(const struct text *t) { return t->data ? t->data : ""; }

void text_free(struct text *t) {
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}

char *read_file(const char *path) {
    struct text t = {NULL, 0, 0};
    char chunk[4096];
    size_t n;
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "http_host: cannot read %s\n", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        text_add(&t, chunk, n);
    }
    fclose(file);
    if (t.data == NULL) {
        text_add(&t, "", 0);
    }
    return t.data;
}

int is_small_number(const char *s) {
    size_t n = 0;
    if (s == NULL) {
        return 0;
    }
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 9) {
            return 0;
        }
    }
    return n > 0;
}
