/* A real HTTP/1.1 host that keeps its users' sessions in sessmgr: sign-in with rotation,
 * 4D's action_Session, an atomic counter in the session's storage, FileMaker's session
 * identifier, logging out (here and everywhere), and an admin page with the clients and
 * sessions lists, where an administrator messages and disconnects clients by number.
 *
 *   http_host [PORT] [--data DIR] [--log PATH] [--grace SECONDS] [--secure] [--measure]
 *
 * It serves on 127.0.0.1 (PORT 0: a free port, printed on the first line). HTTP is
 * libmicrohttpd's; the pages (DIR/index.html, DIR/admin.html and their scripts) are static
 * files that fetch JSON from the routes below. The session ID is the `sid` cookie (HttpOnly,
 * SameSite=Lax; `__Host-sid` and Secure with --secure, for a host behind TLS); the pages never
 * see it. With --measure, the host times its sessmgr calls on /counter and prints the totals
 * when it stops (SIGINT or SIGTERM). */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sessmgr.h"
#include "text.h"
#include "users.h"

#define MAX_FIELDS 8
#define MAX_FIELD_BYTES 4096
#define MAX_BODY_BYTES 16384
#define ID_BYTES 64

/* ----- settings and static files ------------------------------------------------------- */

static bool secure;
static bool measure;
static long rotation_grace = 5;
static const char *cookie_name = "sid";

struct asset {
    const char *path;
    const char *file;
    const char *type;
    char *body;
};

static struct asset assets[] = {
    {"/", "index.html", "text/html; charset=utf-8", NULL},
    {"/home.js", "home.js", "text/javascript; charset=utf-8", NULL},
    {"/admin.js", "admin.js", "text/javascript; charset=utf-8", NULL},
    {"/style.css", "style.css", "text/css; charset=utf-8", NULL},
    {"/admin", "admin.html", "text/html; charset=utf-8", NULL},
};
#define ADMIN_PAGE (&assets[4])

/* What --measure counts, with GCC's atomic builtins (C99 has no atomics). */
static uint64_t counter_requests;
static uint64_t sessmgr_nanoseconds;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ----- one request --------------------------------------------------------------------- */

struct field {
    char name[32];
    struct text value;
};

struct request {
    struct MHD_PostProcessor *post;
    struct field fields[MAX_FIELDS];
    size_t body_bytes;
    bool refused; /* too big, or a field too long */
};

static enum MHD_Result take_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                  const char *content_type, const char *transfer_encoding, const char *data,
                                  uint64_t off, size_t size) {
    struct request *r = cls;
    int i;
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
    for (i = 0; i < MAX_FIELDS; i++) {
        struct field *f = &r->fields[i];
        if (f->name[0] == '\0') {
            if (strlen(key) >= sizeof f->name) {
                break;
            }
            strcpy(f->name, key);
        }
        if (strcmp(f->name, key) == 0) {
            if (f->value.len + size > MAX_FIELD_BYTES) {
                break;
            }
            text_add(&f->value, data, size);
            return MHD_YES;
        }
    }
    r->refused = true;
    return MHD_YES;
}

/* A form field's value, or NULL. */
static const char *field(const struct request *r, const char *name) {
    int i;
    for (i = 0; i < MAX_FIELDS; i++) {
        if (strcmp(r->fields[i].name, name) == 0) {
            return text_get(&r->fields[i].value);
        }
    }
    return NULL;
}

static void request_done(void *cls, struct MHD_Connection *connection, void **req_cls,
                         enum MHD_RequestTerminationCode code) {
    struct request *r = *req_cls;
    int i;
    (void)cls, (void)connection, (void)code;
    if (r == NULL) {
        return;
    }
    if (r->post != NULL) {
        MHD_destroy_post_processor(r->post);
    }
    for (i = 0; i < MAX_FIELDS; i++) {
        text_free(&r->fields[i].value);
    }
    free(r);
    *req_cls = NULL;
}

/* ----- answers ------------------------------------------------------------------------- */

/* Queues an answer. Every answer says: not to be cached, not to be sniffed, not to be framed,
 * scripts only from this host. `set_cookie` may be NULL. */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
                              const char *set_cookie) {
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result queued;
    if (response == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "Referrer-Policy", "same-origin");
    MHD_add_response_header(response, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
    if (set_cookie != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, set_cookie);
    }
    queued = MHD_queue_response(c, status, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, const char *json, const char *cookie) {
    return answer(c, status, "application/json", json, cookie);
}

/* `{"error": message}` with a status. */
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status, const char *message, const char *cookie) {
    struct text t = {NULL, 0, 0};
    enum MHD_Result queued;
    text_str(&t, "{\"error\":");
    text_json(&t, message);
    text_str(&t, "}");
    queued = answer_json(c, status, text_get(&t), cookie);
    text_free(&t);
    return queued;
}

/* The HTTP status for a sessmgr status the host did not expect to fail. */
static unsigned http_status(sessmgr_status status) {
    switch (status) {
    case SESSMGR_NOT_FOUND:
        return MHD_HTTP_NOT_FOUND;
    case SESSMGR_INVALID_ARGUMENT:
    case SESSMGR_INVALID_JSON:
    case SESSMGR_LIMIT_EXCEEDED:
    case SESSMGR_NO_VALUE:
        return MHD_HTTP_BAD_REQUEST;
    case SESSMGR_BAD_STATE:
        return MHD_HTTP_CONFLICT;
    case SESSMGR_UNAVAILABLE:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* The library's message for a failed call; it never holds a session ID. */
static enum MHD_Result refuse_status(struct MHD_Connection *c, sessmgr_status status, const char *cookie) {
    return refuse(c, http_status(status), sessmgr_last_error(), cookie);
}

/* ----- the session of a request -------------------------------------------------------- */

struct visit {
    char id[ID_BYTES];
    char set_cookie[160]; /* "" unless the answer sets the cookie */
    uint64_t sessmgr_ns;  /* with --measure: the time the lookup spent in sessmgr */
};

static void cookie_for(struct visit *v, const char *id) {
    snprintf(v->set_cookie, sizeof v->set_cookie, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s", cookie_name, id,
             secure ? "; Secure" : "");
}

static void cookie_cleared(struct visit *v) {
    snprintf(v->set_cookie, sizeof v->set_cookie, "%s=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s", cookie_name,
             secure ? "; Secure" : "");
}

static const char *cookie_of(const struct visit *v) { return v->set_cookie[0] ? v->set_cookie : NULL; }

/* The session the cookie names if it is live (touching it), else a fresh guest session with a
 * cookie to set. A cookie that is no session ID at all is treated as an unknown one; neither is
 * written anywhere. */
static sessmgr_status visit(struct MHD_Connection *c, struct visit *v) {
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, cookie_name);
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char address[INET6_ADDRSTRLEN] = "";
    char options[128];
    char *id = NULL;
    sessmgr_status status;
    uint64_t started = measure ? now_ns() : 0;
    bool live = cookie != NULL && strlen(cookie) < sizeof v->id && sessmgr_session_touch(cookie) == SESSMGR_OK;
    v->sessmgr_ns = measure ? now_ns() - started : 0;
    v->set_cookie[0] = '\0';
    if (live) {
        strcpy(v->id, cookie);
        return SESSMGR_OK;
    }
    if (info != NULL && info->client_addr != NULL) {
        const struct sockaddr *sa = info->client_addr;
        if (sa->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, address, sizeof address);
        } else if (sa->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, address, sizeof address);
        }
    }
    snprintf(options, sizeof options, "{\"type\":\"web\",\"IPAddress\":\"%s\"}", address);
    status = sessmgr_session_create(options, &id);
    if (status != SESSMGR_OK) {
        return status;
    }
    snprintf(v->id, sizeof v->id, "%s", id);
    sessmgr_string_free(id);
    cookie_for(v, v->id);
    return SESSMGR_OK;
}

static bool has_privilege(const struct visit *v, const char *name) {
    bool held = false;
    return sessmgr_session_has_privilege(v->id, name, &held) == SESSMGR_OK && held;
}

/* ----- routes -------------------------------------------------------------------------- */

/* GET /me: who this session is, for the home page (no session ID: the page never needs it). */
static enum MHD_Result route_me(struct MHD_Connection *c, struct visit *v) {
    struct text t = {NULL, 0, 0};
    char *user = NULL, *identifier = NULL, *privileges = NULL, *expires = NULL, *count = NULL, *messages = NULL;
    uint64_t client = 0;
    bool guest = true;
    enum MHD_Result queued;
    char number[32];
    sessmgr_status status = sessmgr_session_get_user_name(v->id, &user);
    if (status == SESSMGR_OK) status = sessmgr_session_get_identifier(v->id, &identifier);
    if (status == SESSMGR_OK) status = sessmgr_session_get_privileges(v->id, &privileges);
    if (status == SESSMGR_OK) status = sessmgr_session_is_guest(v->id, &guest);
    if (status == SESSMGR_OK) status = sessmgr_session_get_client_id(v->id, &client);
    if (status == SESSMGR_OK) status = sessmgr_session_get_expiration_date(v->id, &expires);
    if (status == SESSMGR_OK) {
        sessmgr_status got = sessmgr_storage_get(v->id, "/counter", &count);
        status = got == SESSMGR_NO_VALUE ? SESSMGR_OK : got;
    }
    if (status == SESSMGR_OK) status = sessmgr_session_take_messages(v->id, &messages);
    if (status != SESSMGR_OK) {
        queued = refuse_status(c, status, cookie_of(v));
    } else {
        snprintf(number, sizeof number, "%llu", (unsigned long long)client);
        text_str(&t, "{\"userName\":");
        text_json(&t, user);
        text_str(&t, ",\"identifier\":");
        text_json(&t, identifier);
        text_str(&t, guest ? ",\"guest\":true" : ",\"guest\":false");
        text_str(&t, has_privilege(v, "WebAdmin") ? ",\"webAdmin\":true" : ",\"webAdmin\":false");
        text_str(&t, ",\"privileges\":");
        text_str(&t, privileges);
        text_str(&t, ",\"clientId\":");
        text_str(&t, number);
        text_str(&t, ",\"expirationDate\":");
        text_json(&t, expires);
        text_str(&t, ",\"counter\":");
        text_str(&t, count ? count : "0");
        text_str(&t, ",\"inbox\":");
        text_str(&t, messages);
        text_str(&t, "}");
        queued = answer_json(c, MHD_HTTP_OK, text_get(&t), cookie_of(v));
    }
    text_free(&t);
    sessmgr_string_free(user);
    sessmgr_string_free(identifier);
    sessmgr_string_free(privileges);
    sessmgr_string_free(expires);
    sessmgr_string_free(count);
    sessmgr_string_free(messages);
    return queued;
}

/* The counter's step: this host's storage is {"counter": n}. sessmgr runs it with no lock
 * held and runs it again when another request changed the storage meanwhile. */
static int32_t increment(sessmgr_update *update, const char *current, void *user_data) {
    unsigned long long *count = user_data;
    const char *at = strstr(current, "\"counter\":");
    char next[64];
    *count = (at ? strtoull(at + strlen("\"counter\":"), NULL, 10) : 0) + 1;
    snprintf(next, sizeof next, "{\"counter\":%llu}", *count);
    return sessmgr_update_set(update, next) == SESSMGR_OK ? SESSMGR_UPDATE_COMMIT : SESSMGR_UPDATE_ABORT;
}

/* GET /counter: one more, atomically, however many requests share the session. */
static enum MHD_Result route_counter(struct MHD_Connection *c, struct visit *v) {
    unsigned long long count = 0;
    char body[32];
    uint64_t started = measure ? now_ns() : 0;
    sessmgr_status status = sessmgr_storage_update(v->id, increment, &count);
    if (measure) {
        __atomic_fetch_add(&sessmgr_nanoseconds, v->sessmgr_ns + now_ns() - started, __ATOMIC_RELAXED);
        __atomic_fetch_add(&counter_requests, 1, __ATOMIC_RELAXED);
    }
    if (status != SESSMGR_OK) {
        return refuse_status(c, status, cookie_of(v));
    }
    snprintf(body, sizeof body, "%llu\n", count);
    return answer(c, MHD_HTTP_OK, "text/plain; charset=utf-8", body, cookie_of(v));
}

/* GET /4DACTION/action_Session: the seed's example. */
static enum MHD_Result route_action_session(struct MHD_Connection *c, struct visit *v) {
    return answer(c, MHD_HTTP_OK, "text/plain; charset=utf-8",
                  has_privilege(v, "WebAdmin") ? "4DACTION --> Session is WebAdmin"
                                               : "4DACTION --> Session is not WebAdmin",
                  cookie_of(v));
}

/* POST /login: the password checked, then the grant and a new ID in one step. */
static enum MHD_Result route_login(struct MHD_Connection *c, struct visit *v, const struct request *r) {
    const char *name = field(r, "user"), *password = field(r, "password");
    const struct user *user = name && password ? users_check(name, password) : NULL;
    struct text grant = {NULL, 0, 0}, body = {NULL, 0, 0};
    char *new_id = NULL;
    sessmgr_status status;
    enum MHD_Result queued;
    if (user == NULL) {
        return refuse(c, MHD_HTTP_UNAUTHORIZED, "wrong user name or password", cookie_of(v));
    }
    text_str(&grant, "{\"privileges\":");
    text_json(&grant, user->privileges);
    text_str(&grant, ",\"userName\":");
    text_json(&grant, user->name);
    text_str(&grant, "}");
    status = sessmgr_session_rotate_id(v->id, text_get(&grant), &new_id);
    text_free(&grant);
    if (status != SESSMGR_OK) {
        return refuse_status(c, status, cookie_of(v));
    }
    cookie_for(v, new_id);
    /* The hosted "file" a signed-in user has open, as FileMaker's clients list shows it. */
    sessmgr_session_attach_file(new_id, "{\"filename\":\"Web Demo\"}");
    sessmgr_string_free(new_id);
    text_str(&body, "{\"ok\":true,\"userName\":");
    text_json(&body, user->name);
    text_str(&body, "}");
    queued = answer_json(c, MHD_HTTP_OK, text_get(&body), cookie_of(v));
    text_free(&body);
    return queued;
}

/* POST /identifier: FileMaker's Set Session Identifier; an empty one clears it (as does a form
 * without the field: libmicrohttpd's form parser reports no empty fields). */
static enum MHD_Result route_identifier(struct MHD_Connection *c, struct visit *v, const struct request *r) {
    const char *identifier = field(r, "identifier");
    sessmgr_status status = sessmgr_session_set_identifier(v->id, identifier ? identifier : "");
    if (status != SESSMGR_OK) {
        return refuse_status(c, status, cookie_of(v));
    }
    return answer_json(c, MHD_HTTP_OK, "{\"ok\":true}", cookie_of(v));
}

/* POST /logout: this session ends. */
static enum MHD_Result route_logout(struct MHD_Connection *c, struct visit *v) {
    sessmgr_status status = sessmgr_session_close(v->id);
    if (status != SESSMGR_OK && status != SESSMGR_NOT_FOUND) {
        return refuse_status(c, status, cookie_of(v));
    }
    cookie_cleared(v);
    return answer_json(c, MHD_HTTP_OK, "{\"ok\":true}", cookie_of(v));
}

/* POST /logout-everywhere: every session of this user ends (a signed-in user only). */
static enum MHD_Result route_logout_everywhere(struct MHD_Connection *c, struct visit *v) {
    char *user = NULL;
    uint64_t closed = 0;
    char body[64];
    sessmgr_status status = sessmgr_session_get_user_name(v->id, &user);
    if (status == SESSMGR_OK && user[0] == '\0') {
        sessmgr_string_free(user);
        return refuse(c, MHD_HTTP_BAD_REQUEST, "sign in first: a guest has no other sessions", cookie_of(v));
    }
    if (status == SESSMGR_OK) {
        status = sessmgr_user_close_sessions(user, &closed);
    }
    sessmgr_string_free(user);
    if (status != SESSMGR_OK) {
        return refuse_status(c, status, cookie_of(v));
    }
    cookie_cleared(v);
    snprintf(body, sizeof body, "{\"ok\":true,\"closed\":%llu}", (unsigned long long)closed);
    return answer_json(c, MHD_HTTP_OK, body, cookie_of(v));
}

/* The admin query from the URL: ?type=&search=&ipaddress=&offset=&limit= (false if a number is
 * not one). */
static bool admin_query(struct MHD_Connection *c, struct text *query) {
    static const char *const strings[] = {"type", "search", "ipaddress"};
    static const char *const numbers[] = {"offset", "limit"};
    size_t i;
    bool first = true;
    text_str(query, "{");
    for (i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const char *value = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, strings[i]);
        if (value != NULL && value[0] != '\0') {
            text_str(query, first ? "\"" : ",\"");
            text_str(query, strings[i]);
            text_str(query, "\":");
            text_json(query, value);
            first = false;
        }
    }
    for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *value = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, numbers[i]);
        if (value != NULL && value[0] != '\0') {
            if (!is_small_number(value)) {
                return false;
            }
            text_str(query, first ? "\"" : ",\"");
            text_str(query, numbers[i]);
            text_str(query, "\":");
            text_str(query, value);
            first = false;
        }
    }
    text_str(query, "}");
    return true;
}

/* GET /admin/clients.json: a page of the clients, the same page of the sessions, and the
 * statistics, as the admin page shows them. */
static enum MHD_Result route_admin_data(struct MHD_Connection *c, struct visit *v) {
    struct text query = {NULL, 0, 0}, body = {NULL, 0, 0};
    char *clients = NULL, *sessions = NULL, *stats = NULL;
    sessmgr_status status;
    enum MHD_Result queued;
    if (!admin_query(c, &query)) {
        text_free(&query);
        return refuse(c, MHD_HTTP_BAD_REQUEST, "offset and limit are numbers", cookie_of(v));
    }
    status = sessmgr_clients_query(text_get(&query), &clients);
    if (status == SESSMGR_OK) status = sessmgr_sessions_query(text_get(&query), &sessions);
    if (status == SESSMGR_OK) status = sessmgr_stats(&stats);
    if (status != SESSMGR_OK) {
        queued = refuse_status(c, status, cookie_of(v));
    } else {
        text_str(&body, "{\"clients\":");
        text_str(&body, clients);
        text_str(&body, ",\"sessions\":");
        text_str(&body, sessions);
        text_str(&body, ",\"stats\":");
        text_str(&body, stats);
        text_str(&body, "}");
        queued = answer_json(c, MHD_HTTP_OK, text_get(&body), cookie_of(v));
    }
    text_free(&query);
    text_free(&body);
    sessmgr_string_free(clients);
    sessmgr_string_free(sessions);
    sessmgr_string_free(stats);
    return queued;
}

/* POST /admin/message (client, text) and POST /admin/disconnect (client, text, grace). */
static enum MHD_Result route_admin_action(struct MHD_Connection *c, struct visit *v, const struct request *r,
                                          bool disconnect) {
    const char *client = field(r, "client"), *message = field(r, "text"), *grace = field(r, "grace");
    sessmgr_status status;
    if (!is_small_number(client) || (grace != NULL && grace[0] != '\0' && !is_small_number(grace))) {
        return refuse(c, MHD_HTTP_BAD_REQUEST, "client (and grace) are numbers", cookie_of(v));
    }
    if (disconnect) {
        status = sessmgr_client_disconnect(strtoull(client, NULL, 10), message && message[0] ? message : NULL,
                                           grace && grace[0] ? (uint32_t)strtoul(grace, NULL, 10) : 0);
    } else {
        status = sessmgr_client_send_message(strtoull(client, NULL, 10), message ? message : "");
    }
    if (status != SESSMGR_OK) {
        return refuse_status(c, status, cookie_of(v));
    }
    return answer_json(c, MHD_HTTP_OK, "{\"ok\":true}", cookie_of(v));
}

/* ----- dispatch ------------------------------------------------------------------------ */

static struct asset *asset_at(const char *url) {
    size_t i;
    for (i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        if (strcmp(assets[i].path, url) == 0) {
            return &assets[i];
        }
    }
    return NULL;
}

/* A POST from another site is refused: the cookie is SameSite=Lax, and the Origin (or
 * Sec-Fetch-Site) a browser sends must be this host's. */
static bool same_origin(struct MHD_Connection *c) {
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *scheme = secure ? "https://" : "http://";
    if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
        return false;
    }
    if (origin == NULL) {
        return true;
    }
    return host != NULL && strncmp(origin, scheme, strlen(scheme)) == 0 &&
           strcmp(origin + strlen(scheme), host) == 0;
}

static bool is_post_route(const char *url) {
    return strcmp(url, "/login") == 0 || strcmp(url, "/identifier") == 0 || strcmp(url, "/logout") == 0 ||
           strcmp(url, "/logout-everywhere") == 0 || strcmp(url, "/admin/message") == 0 ||
           strcmp(url, "/admin/disconnect") == 0;
}

static bool is_get_route(const char *url) {
    return strcmp(url, "/me") == 0 || strcmp(url, "/counter") == 0 || strcmp(url, "/4DACTION/action_Session") == 0 ||
           strcmp(url, "/admin") == 0 || strcmp(url, "/admin/clients.json") == 0;
}

static enum MHD_Result serve(struct MHD_Connection *c, const char *url, const char *method,
                             const struct request *r) {
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    struct visit v;
    struct asset *page = asset_at(url);
    sessmgr_status status;
    if (strcmp(url, "/static") == 0 && !post) {
        return answer(c, MHD_HTTP_OK, "text/plain; charset=utf-8", "static\n", NULL);
    }
    if (page != NULL && page != ADMIN_PAGE && !post) {
        return answer(c, MHD_HTTP_OK, page->type, page->body, NULL);
    }
    if (!is_get_route(url) && !is_post_route(url)) {
        return refuse(c, MHD_HTTP_NOT_FOUND, "no such page", NULL);
    }
    if (post != is_post_route(url)) {
        return refuse(c, MHD_HTTP_METHOD_NOT_ALLOWED, post ? "use GET" : "use POST", NULL);
    }
    if (post && !same_origin(c)) {
        return refuse(c, MHD_HTTP_FORBIDDEN, "a request from another site", NULL);
    }
    if (r->refused) {
        return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, "the form is too large", NULL);
    }
    status = visit(c, &v);
    if (status != SESSMGR_OK) {
        return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no session can be opened now; try again later", NULL);
    }
    if (strcmp(url, "/counter") == 0) return route_counter(c, &v);
    if (strcmp(url, "/me") == 0) return route_me(c, &v);
    if (strcmp(url, "/4DACTION/action_Session") == 0) return route_action_session(c, &v);
    if (strcmp(url, "/login") == 0) return route_login(c, &v, r);
    if (strcmp(url, "/identifier") == 0) return route_identifier(c, &v, r);
    if (strcmp(url, "/logout") == 0) return route_logout(c, &v);
    if (strcmp(url, "/logout-everywhere") == 0) return route_logout_everywhere(c, &v);
    /* The rest is the administrators'. */
    if (!has_privilege(&v, "WebAdmin")) {
        if (strcmp(url, "/admin") == 0) {
            return answer(c, MHD_HTTP_FORBIDDEN, "text/html; charset=utf-8",
                          "<!doctype html><title>WebAdmin only</title><p id=\"forbidden\">The admin page is "
                          "for WebAdmin users. <a href=\"/\">Sign in</a> as an administrator.</p>",
                          cookie_of(&v));
        }
        return refuse(c, MHD_HTTP_FORBIDDEN, "WebAdmin only", cookie_of(&v));
    }
    if (strcmp(url, "/admin") == 0) return answer(c, MHD_HTTP_OK, ADMIN_PAGE->type, ADMIN_PAGE->body, cookie_of(&v));
    if (strcmp(url, "/admin/clients.json") == 0) return route_admin_data(c, &v);
    return route_admin_action(c, &v, r, strcmp(url, "/admin/disconnect") == 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls) {
    struct request *r = *req_cls;
    (void)cls, (void)version;
    if (r == NULL) {
        /* The first call, with the headers only. */
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            return MHD_NO;
        }
        *req_cls = r;
        if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
            r->post = MHD_create_post_processor(c, 1024, take_field, r);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        r->body_bytes += *upload_data_size;
        if (r->body_bytes > MAX_BODY_BYTES) {
            r->refused = true;
        } else if (r->post != NULL) {
            MHD_post_process(r->post, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return serve(c, url, method, r);
}

/* ----- start and stop ------------------------------------------------------------------ */

static int configure(const char *data_dir, const char *log_path) {
    char path[4096], number[32];
    char *roles;
    struct text config = {NULL, 0, 0};
    sessmgr_status status;
    snprintf(path, sizeof path, "%s/roles.json", data_dir);
    roles = read_file(path);
    if (roles == NULL) {
        return -1;
    }
    status = sessmgr_load_roles(roles);
    free(roles);
    if (status != SESSMGR_OK) {
        fprintf(stderr, "http_host: %s: %s\n", path, sessmgr_last_error());
        return -1;
    }
    /* Expired sessions go in the background; a login's old ID reaches the session for a few
     * seconds (--grace, 5 by default), for the requests a browser already has in flight; no
     * session outlives 12 hours. */
    snprintf(number, sizeof number, "%ld", rotation_grace);
    text_str(&config, "{\"sweepIntervalSeconds\":30,\"maxLifetime\":720,\"rotationGraceSeconds\":");
    text_str(&config, number);
    if (log_path != NULL) {
        text_str(&config, ",\"accessLog\":{\"hostName\":\"http_host\",\"path\":");
        text_json(&config, log_path);
        text_str(&config, "}");
    }
    text_str(&config, "}");
    status = sessmgr_configure(text_get(&config));
    text_free(&config);
    if (status != SESSMGR_OK) {
        fprintf(stderr, "http_host: configure: %s\n", sessmgr_last_error());
        return -1;
    }
    return 0;
}

static int usage(void) {
    fputs("usage: http_host [PORT] [--data DIR] [--log PATH] [--grace SECONDS] [--secure] [--measure]\n", stderr);
    return 2;
}

int main(int argc, char **argv) {
    const char *data_dir = "examples_c/http_host";
    const char *log_path = NULL;
    long port = 8080;
    struct sockaddr_in address;
    struct MHD_Daemon *daemon;
    const union MHD_DaemonInfo *bound;
    char path[4096];
    sigset_t stop;
    int i, signal_number, users;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t a;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
            log_path = argv[++i];
        } else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc) {
            char *end;
            rotation_grace = strtol(argv[++i], &end, 10);
            if (*end != '\0' || rotation_grace < 0 || rotation_grace > 60) {
                return usage();
            }
        } else if (strcmp(argv[i], "--secure") == 0) {
            secure = true;
        } else if (strcmp(argv[i], "--measure") == 0) {
            measure = true;
        } else if (argv[i][0] != '-') {
            char *end;
            port = strtol(argv[i], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    /* Behind TLS the cookie is Secure, and its __Host- name binds it to this host and path /. */
    cookie_name = secure ? "__Host-sid" : "sid";

    /* SIGINT and SIGTERM are waited for below; every thread started after this blocks them
     * (sessmgr's sweeper blocks every signal anyway). */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    snprintf(path, sizeof path, "%s/users.txt", data_dir);
    users = users_load(path);
    if (users < 0 || configure(data_dir, log_path) != 0) {
        return 1;
    }
    for (a = 0; a < sizeof assets / sizeof assets[0]; a++) {
        snprintf(path, sizeof path, "%s/%s", data_dir, assets[a].file);
        assets[a].body = read_file(path);
        if (assets[a].body == NULL) {
            return 1;
        }
    }

    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle,
                              NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE,
                              (unsigned int)(cores > 1 ? cores : 2), MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                              MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "http_host: cannot serve on 127.0.0.1:%ld\n", port);
        return 1;
    }
    bound = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("http_host: sessmgr %s, %d users, listening on http://127.0.0.1:%u/\n", sessmgr_version(), users,
           bound ? (unsigned)bound->port : (unsigned)port);
    fflush(stdout);

    sigwait(&stop, &signal_number);
    MHD_stop_daemon(daemon);
    if (measure) {
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        printf("measure: counter_requests=%llu sessmgr_ns=%llu cpu_ns=%llu\n",
               (unsigned long long)counter_requests, (unsigned long long)sessmgr_nanoseconds,
               (unsigned long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ull +
                   (unsigned long long)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ull);
    }
    printf("http_host: stopped\n");
    return 0;
}
