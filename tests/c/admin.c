/* The administrators' side from C: the event handler (which calls back into the library), the
 * clients list, statistics. */
#include "check.h"

typedef struct {
    int created;
    int identifier_changed;
    int closed;
    int other;
    int info_ok;
} tally;

static void on_event(const char *event_json, void *user_data) {
    tally *t = (tally *)user_data;
    char id[64];
    char *info = NULL;
    if (strstr(event_json, "\"event\":\"created\"") != NULL) {
        t->created++;
    } else if (strstr(event_json, "\"event\":\"identifierChanged\"") != NULL) {
        t->identifier_changed++;
    } else if (strstr(event_json, "\"event\":\"closed\"") != NULL) {
        t->closed++;
        return;
    } else {
        t->other++;
    }
    /* A handler may call back into the library. */
    if (json_text_field(event_json, "ID", id, sizeof id) && sessmgr_session_info(id, &info) == SESSMGR_OK) {
        t->info_ok++;
        sessmgr_string_free(info);
    }
}

int main(void) {
    tally t;
    char *a = NULL;
    char *b = NULL;
    char *text = NULL;
    use_test_store();
    memset(&t, 0, sizeof t);

    OK(sessmgr_set_event_handler(on_event, &t));
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Guest\",\"machineName\":\"Kiosk 1\"}", &a));
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Guest\",\"machineName\":\"Kiosk 2\"}", &b));
    OK(sessmgr_session_set_identifier(a, "S1234567"));
    OK(sessmgr_session_attach_file(b, "{\"filename\":\"Survey\"}"));

    OK(sessmgr_clients_list(&text));
    CHECK(strstr(text, "\"userName\":\"S1234567\",\"computerName\":\"Kiosk 1\"") != NULL);
    CHECK(strstr(text, "\"userName\":\"Guest\",\"computerName\":\"Kiosk 2\"") != NULL);
    CHECK(strstr(text, "\"guestFiles\":[{\"id\":\"1\",\"filename\":\"Survey\",\"accountName\":\"Guest\",\"privsetName\":\"\"}]") != NULL);
    CHECK(strstr(text, "\"messages\":[{\"code\":\"0\"}]") != NULL);
    sessmgr_string_free(text);

    OK(sessmgr_session_close(a));
    OK(sessmgr_set_event_handler(NULL, NULL));
    OK(sessmgr_session_close(b));

    CHECK(t.created == 2);
    CHECK(t.identifier_changed == 1);
    CHECK(t.closed == 1);
    CHECK(t.other == 1);
    CHECK(t.info_ok == 4);

    OK(sessmgr_stats(&text));
    CHECK(strstr(text, "\"created\":2,\"closed\":2,\"expired\":0,\"identifierChanges\":1") != NULL);
    CHECK(strstr(text, "\"eventsDelivered\":5") != NULL);
    sessmgr_string_free(text);

    sessmgr_string_free(a);
    sessmgr_string_free(b);
    return finish("admin");
}
