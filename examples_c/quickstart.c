/* Build: cc quickstart.c $(pkg-config --cflags --libs sessmgr) -o quickstart */
#include <stdio.h>
#include <sessmgr.h>

int main(void) {
    char *id = NULL, *info = NULL;
    bool admin = false;
    if (sessmgr_session_create(NULL, &id) != SESSMGR_OK) { /* a web guest */
        fprintf(stderr, "%s\n", sessmgr_last_error());
        return 1;
    }
    sessmgr_session_set_privileges(id, "{\"privileges\":[\"WebAdmin\"],\"userName\":\"ann\"}", NULL);
    sessmgr_session_has_privilege(id, "WebAdmin", &admin);
    sessmgr_session_set_identifier(id, "ann@kiosk-3"); /* what administrators see */
    sessmgr_session_info(id, &info);                   /* 4D's Session info, as JSON */
    printf("admin=%s info=%s\n", admin ? "yes" : "no", info);
    sessmgr_string_free(info); /* every string the library hands out */
    sessmgr_session_close(id);
    sessmgr_string_free(id);
    return 0;
}
