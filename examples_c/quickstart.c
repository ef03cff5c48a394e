/* Build: cc quickstart.c $(pkg-config --cflags --libs sessmgr) -o quickstart */
#include <stdio.h>
#include <string.h>
#include <sessmgr.h>

int main(void) {
    char *id = NULL;
    char *info = NULL;
    bool admin = false;

    if (strcmp(sessmgr_version(), SESSMGR_VERSION) != 0) {
        fprintf(stderr, "header %s, library %s\n", SESSMGR_VERSION, sessmgr_version());
        return 1;
    }
    if (sessmgr_session_create(NULL, &id) != SESSMGR_OK) { /* a web guest */
        fprintf(stderr, "%s\n", sessmgr_last_error());
        return 1;
    }
    sessmgr_session_set_privileges(id, "{\"privileges\":[\"WebAdmin\"],\"userName\":\"ann\"}", NULL);
    sessmgr_session_has_privilege(id, "WebAdmin", &admin);
    sessmgr_session_set_identifier(id, "ann@kiosk-3");
    sessmgr_session_info(id, &info);
    printf("admin=%s info=%s\n", admin ? "yes" : "no", info);
    sessmgr_string_free(info);
    sessmgr_session_close(id);
    sessmgr_string_free(id);
    return 0;
}
