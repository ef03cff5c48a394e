/* A small host server's use of sessmgr: one session of each type, the seed scenarios of 4D and
 * FileMaker, and the administrator's listing at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessmgr.h"

/* Stops the host on a failed call, with the library's message. */
static void must(sessmgr_status status, const char *what) {
    if (status != SESSMGR_OK) {
        fprintf(stderr, "%s failed with status %d: %s\n", what, (int)status, sessmgr_last_error());
        exit(1);
    }
}

/* Prints a string the library handed out, then frees it. */
static void show(const char *label, char *text) {
    printf("%-22s %s\n", label, text);
    sessmgr_string_free(text);
}

static int32_t remember_client_ip(sessmgr_update *update, const char *current, void *user_data) {
    char next[256];
    if (strstr(current, "\"clientIP\"") != NULL) {
        return SESSMGR_UPDATE_COMMIT; /* known already: keep the storage as it is */
    }
    snprintf(next, sizeof next, "{\"clientIP\":{\"value\":\"%s\"}}", (const char *)user_data);
    return sessmgr_update_set(update, next) == SESSMGR_OK ? SESSMGR_UPDATE_COMMIT : SESSMGR_UPDATE_ABORT;
}

/* Prints a text file line by line, indented. */
static void print_file(const char *path) {
    char line[2048];
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        printf("  (cannot read %s)\n", path);
        return;
    }
    while (fgets(line, sizeof line, file) != NULL) {
        printf("  %s", line);
    }
    fclose(file);
}

/* Counts the events the library tells the host about. */
static void count_event(const char *event_json, void *user_data) {
    (void)event_json;
    (*(int *)user_data)++;
}

int main(int argc, char **argv) {
    const char *log_path = argc > 1 ? argv[1] : "Access.log";
    char config[1024];
    int events = 0;
    static const char *roles =
        "{\"privileges\":[{\"privilege\":\"simple\",\"includes\":[]},"
        "{\"privilege\":\"medium\",\"includes\":[\"simple\"]}],"
        "\"roles\":[{\"role\":\"Medium\",\"privileges\":[\"medium\"]}]}";
    char *web = NULL;
    char *rest = NULL;
    char *remote = NULL;
    char *procedures = NULL;
    char *local = NULL;
    char *text = NULL;
    char client_ip[] = "192.0.2.10";
    bool is_admin = false;
    bool is_guest = false;
    sessmgr_status status;

    printf("sessmgr %s\n\n", sessmgr_version());
    must(sessmgr_load_roles(roles), "load roles.json");

    /* Administrators' view: an access log and an event handler. */
    remove(log_path);
    snprintf(config, sizeof config, "{\"accessLog\":{\"path\":\"%s\",\"hostName\":\"demo-host\"}}", log_path);
    must(sessmgr_configure(config), "configure the access log");
    must(sessmgr_set_event_handler(count_event, &events), "set the event handler");

    /* One session of each type. */
    must(sessmgr_session_create(NULL, &web), "create web");
    must(sessmgr_session_create("{\"type\":\"rest\",\"IPAddress\":\"198.51.100.20\"}", &rest), "create rest");
    must(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Guest\",\"machineName\":\"Kiosk 1\","
                                "\"systemUserName\":\"kiosk\",\"IPAddress\":\"192.0.2.31\",\"hostType\":\"mac\","
                                "\"appVersion\":\"21.0.1\",\"operatingSystem\":\"macOS 15.1\"}",
                                &remote),
         "create remote");
    must(sessmgr_session_attach_file(remote, "{\"filename\":\"Survey\",\"privsetName\":\"[Data Entry Only]\"}"),
         "attach a file");
    must(sessmgr_session_create("{\"type\":\"storedProcedure\",\"userName\":\"Designer\"}", &procedures),
         "create storedProcedure");
    must(sessmgr_session_create("{\"type\":\"standalone\",\"userName\":\"Designer\"}", &local), "create standalone");

    /* FileMaker: the student survey start-up script sets the session identifier. */
    printf("-- student survey (FileMaker Set Session Identifier)\n");
    must(sessmgr_session_set_identifier(remote, "S1234567"), "set identifier");
    must(sessmgr_session_get_identifier(remote, &text), "get identifier");
    show("identifier:", text);
    must(sessmgr_session_get_user_name(remote, &text), "get user name");
    show("user name (unchanged):", text);
    status = sessmgr_session_set_identifier(local, "S1234567");
    printf("%-22s status %d (%s)\n", "standalone:", (int)status, sessmgr_last_error());

    /* 4D: the action_Session method checks WebAdmin. */
    printf("\n-- action_Session (4D hasPrivilege)\n");
    must(sessmgr_session_has_privilege(web, "WebAdmin", &is_admin), "has privilege");
    printf("4DACTION --> Session is %s\n", is_admin ? "WebAdmin" : "not WebAdmin");
    must(sessmgr_session_set_privileges(web, "{\"privileges\":[\"WebAdmin\"],\"userName\":\"admin\"}", NULL),
         "set privileges");
    must(sessmgr_session_has_privilege(web, "WebAdmin", &is_admin), "has privilege");
    printf("4DACTION --> Session is %s\n", is_admin ? "WebAdmin" : "not WebAdmin");
    must(sessmgr_session_set_privileges(rest, "{\"roles\":\"Medium\"}", NULL), "set role");
    must(sessmgr_session_get_privileges(rest, &text), "get privileges");
    show("rest privileges:", text);

    /* 4D: guests idle out after 60 minutes, others after 120. */
    printf("\n-- idle timeouts (4D idleTimeout)\n");
    must(sessmgr_session_is_guest(web, &is_guest), "is guest");
    must(sessmgr_session_set_idle_timeout(web, is_guest ? 60 : 120), "set idle timeout");
    must(sessmgr_session_get_expiration_date(web, &text), "expiration date");
    show("web expires:", text);

    /* 4D: store the client IP in Session.storage inside Use ... End use. */
    printf("\n-- Session.storage\n");
    must(sessmgr_storage_update(rest, remember_client_ip, client_ip), "storage update");
    must(sessmgr_storage_get(rest, "", &text), "storage get");
    show("rest storage:", text);

    /* 4D: Session info. */
    printf("\n-- Session info\n");
    must(sessmgr_session_info(remote, &text), "session info");
    show("remote:", text);

    /* The administrator's view. */
    printf("\n-- sessions list (4D Process activity)\n");
    must(sessmgr_sessions_list(&text), "sessions list");
    printf("%s\n", text);
    sessmgr_string_free(text);

    must(sessmgr_session_detach_file(remote, "Survey"), "detach a file");
    must(sessmgr_session_close(rest), "close rest");

    printf("\n-- clients list (FileMaker Admin API List Clients)\n");
    must(sessmgr_clients_list(&text), "clients list");
    printf("%s\n", text);
    sessmgr_string_free(text);

    printf("\n-- statistics (%d events delivered to the handler)\n", events);
    must(sessmgr_stats(&text), "stats");
    printf("%s\n", text);
    sessmgr_string_free(text);

    printf("\n-- access log %s\n", log_path);
    print_file(log_path);

    sessmgr_string_free(web);
    sessmgr_string_free(rest);
    sessmgr_string_free(remote);
    sessmgr_string_free(procedures);
    sessmgr_string_free(local);
    return 0;
}
