/* The example's users: a file of `name:hash:privileges` lines, the hash a salted SHA-512
 * crypt(3) hash (`$6$salt$…`, as `openssl passwd -6` makes), the privileges comma-separated. */
#ifndef HTTP_HOST_USERS_H
#define HTTP_HOST_USERS_H

struct user {
    char name[64];
    char hash[128];
    char privileges[256];
};

/* Loads the users file; the number of users, or -1 (with a message on stderr). */
int users_load(const char *path);

/* The user whose password this is, or NULL. Takes as long for an unknown name as for a wrong
 * password (a hash is computed either way), so that timing does not tell which names exist. */
const struct user *users_check(const char *name, const char *password);

#endif
