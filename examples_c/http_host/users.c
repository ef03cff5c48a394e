/* The example's users file and password checks, with crypt(3) from libcrypt. */
#include "users.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USERS 64

static struct user users[MAX_USERS];
static int user_count;

/* Copies a field, refusing one that does not fit. */
static int copy_field(char *to, size_t size, const char *from, size_t n) {
    if (n == 0 || n >= size) {
        return 0;
    }
    memcpy(to, from, n);
    to[n] = '\0';
    return 1;
}

int users_load(const char *path) {
    char line[512];
    int number = 0;
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "http_host: cannot read the users file %s\n", path);
        return -1;
    }
    user_count = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        char *first, *second;
        struct user *u = &users[user_count];
        size_t len = strcspn(line, "\r\n");
        number++;
        line[len] = '\0';
        if (len == 0 || line[0] == '#') {
            continue;
        }
        first = strchr(line, ':');
        second = first ? strchr(first + 1, ':') : NULL;
        if (user_count == MAX_USERS || second == NULL ||
            !copy_field(u->name, sizeof u->name, line, (size_t)(first - line)) ||
            !copy_field(u->hash, sizeof u->hash, first + 1, (size_t)(second - first - 1)) ||
            strncmp(u->hash, "$6$", 3) != 0 || strlen(second + 1) >= sizeof u->privileges) {
            fprintf(stderr, "http_host: %s line %d: expected name:$6$salt$hash:privileges\n", path, number);
            fclose(file);
            return -1;
        }
        strcpy(u->privileges, second + 1);
        user_count++;
    }
    fclose(file);
    return user_count;
}

/* Compares two NUL-terminated strings in time that depends on their lengths only. */
static int same_text(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char diff = (unsigned char)(la != lb);
    for (i = 0; i < la && i < lb; i++) {
        diff |= (unsigned char)(a[i] ^ b[i]);
    }
    return diff == 0;
}

const struct user *users_check(const char *name, const char *password) {
    const struct user *found = NULL;
    const char *hashed;
    int i, match;
    struct crypt_data *data;
    for (i = 0; i < user_count; i++) {
        if (strcmp(users[i].name, name) == 0) {
            found = &users[i];
        }
    }
    if (user_count == 0) {
        return NULL;
    }
    /* An unknown name is checked against a user's hash all the same, and fails. */
    data = calloc(1, sizeof *data);
    if (data == NULL) {
        return NULL;
    }
    hashed = crypt_r(password, found ? found->hash : users[0].hash, data);
    match = found != NULL && hashed != NULL && hashed[0] == '$' && same_text(hashed, found->hash);
    free(data);
    return match ? found : NULL;
}
