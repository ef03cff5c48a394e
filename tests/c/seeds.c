/* Every example of the seed documents, through the C ABI. */
#include "check.h"

/* ---- FileMaker: the student survey ------------------------------------------------------ */

static int is_student_id_valid(const char *student_id) {
    size_t i;
    size_t n = strlen(student_id);
    if (n != 8 || student_id[0] != 'S') {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (student_id[i] < '0' || student_id[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* The start-up script: ask for the student ID, set it as the session identifier if valid. */
static const char *survey_start(const char *session, const char *entered) {
    if (is_student_id_valid(entered)) {
        OK(sessmgr_session_set_identifier(session, entered));
        return NULL;
    }
    return "A valid student ID was not provided.";
}

static void student_survey(void) {
    char *kiosk1 = NULL;
    char *kiosk2 = NULL;
    char *text = NULL;
    /* Two students sign in with the same shared account. */
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Guest\",\"machineName\":\"Kiosk 1\"}", &kiosk1));
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Guest\",\"machineName\":\"Kiosk 2\"}", &kiosk2));

    /* Get(SessionIdentifier) is empty until the script step runs. */
    OK(sessmgr_session_get_identifier(kiosk1, &text));
    CHECK_STR(text, "");
    sessmgr_string_free(text);

    CHECK(survey_start(kiosk1, "S1234567") == NULL);
    CHECK_STR(survey_start(kiosk2, "not-an-id"), "A valid student ID was not provided.");

    OK(sessmgr_session_get_identifier(kiosk1, &text));
    CHECK_STR(text, "S1234567");
    sessmgr_string_free(text);
    OK(sessmgr_session_get_identifier(kiosk2, &text));
    CHECK_STR(text, "");
    sessmgr_string_free(text);

    /* The step never changes Get(UserName). */
    OK(sessmgr_session_get_user_name(kiosk1, &text));
    CHECK_STR(text, "Guest");
    sessmgr_string_free(text);
    OK(sessmgr_session_info(kiosk1, &text));
    CHECK(strstr(text, "\"userName\":\"Guest\"") != NULL);
    sessmgr_string_free(text);

    /* Re-login as another student: the script sets the identifier again. */
    CHECK(survey_start(kiosk1, "S7654321") == NULL);
    OK(sessmgr_session_get_identifier(kiosk1, &text));
    CHECK_STR(text, "S7654321");
    sessmgr_string_free(text);

    /* A local file: the step does nothing. */
    {
        char *local = NULL;
        OK(sessmgr_session_create("{\"type\":\"standalone\",\"userName\":\"Guest\"}", &local));
        FAILS(SESSMGR_NOT_SUPPORTED, sessmgr_session_set_identifier(local, "S1234567"));
        OK(sessmgr_session_get_identifier(local, &text));
        CHECK_STR(text, "");
        sessmgr_string_free(text);
        OK(sessmgr_session_close(local));
        sessmgr_string_free(local);
    }

    OK(sessmgr_session_close(kiosk1));
    OK(sessmgr_session_close(kiosk2));
    sessmgr_string_free(kiosk1);
    sessmgr_string_free(kiosk2);
}

/* ---- 4D: the action_Session method (WebAdmin check) ------------------------------------- */

static const char *action_session(const char *session) {
    bool is_admin = false;
    sessmgr_status status = sessmgr_session_has_privilege(session, "WebAdmin", &is_admin);
    if (status == SESSMGR_NOT_FOUND) {
        return "4DACTION --> Session is null";
    }
    CHECK(status == SESSMGR_OK);
    return is_admin ? "4DACTION --> Session is WebAdmin" : "4DACTION --> Session is not WebAdmin";
}

static void web_admin_check(void) {
    char *session = NULL;
    char *ignored = NULL;
    OK(sessmgr_session_create(NULL, &session));
    CHECK_STR(action_session(session), "4DACTION --> Session is not WebAdmin");

    /* The custom authentication method approves the user. */
    OK(sessmgr_session_set_privileges(session, "{\"privileges\":[\"WebAdmin\"]}", &ignored));
    CHECK_STR(ignored, "[]");
    sessmgr_string_free(ignored);
    CHECK_STR(action_session(session), "4DACTION --> Session is WebAdmin");

    OK(sessmgr_session_close(session));
    CHECK_STR(action_session(session), "4DACTION --> Session is null");
    sessmgr_string_free(session);
}

/* ---- 4D: guest sessions close after 60 minutes of inactivity, others after 120 ----------- */

static void idle_timeouts(void) {
    char *guest = NULL;
    char *member = NULL;
    const char *sessions[2];
    int32_t minutes = 0;
    size_t i;
    bool is_guest = false;
    OK(sessmgr_configure("{\"clock\":\"manual\"}"));
    OK(sessmgr_session_create(NULL, &guest));
    OK(sessmgr_session_create(NULL, &member));
    OK(sessmgr_session_set_privileges(member, "WebAdmin", NULL));
    sessions[0] = guest;
    sessions[1] = member;
    for (i = 0; i < 2; i++) {
        OK(sessmgr_session_is_guest(sessions[i], &is_guest));
        if (is_guest) {
            OK(sessmgr_session_set_idle_timeout(sessions[i], 60));
        } else {
            OK(sessmgr_session_set_idle_timeout(sessions[i], 120));
        }
    }
    OK(sessmgr_session_get_idle_timeout(guest, &minutes));
    CHECK(minutes == 60);
    OK(sessmgr_session_get_idle_timeout(member, &minutes));
    CHECK(minutes == 120);

    /* A lower value is raised to 60. */
    OK(sessmgr_session_set_idle_timeout(guest, 10));
    OK(sessmgr_session_get_idle_timeout(guest, &minutes));
    CHECK(minutes == 60);

    OK(sessmgr_clock_advance(60 * 60));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_touch(guest));
    OK(sessmgr_session_touch(member));
    OK(sessmgr_clock_advance(120 * 60 - 1));
    OK(sessmgr_session_touch(member));
    OK(sessmgr_clock_advance(120 * 60));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_touch(member));
    {
        uint64_t expired = 0;
        OK(sessmgr_sweep(&expired));
        /* On Redis too: the sweep claims them (and tells of them) once. */
        CHECK(expired == 2u);
    }
    sessmgr_string_free(guest);
    sessmgr_string_free(member);
    OK(sessmgr_reset());
    use_test_store();
}

/* ---- 4D: store the client IP in Session.storage inside Use ... End use -------------------- */

static int32_t store_client_ip(sessmgr_update *update, const char *current, void *user_data) {
    const char *client_ip = (const char *)user_data;
    char next[256];
    if (strstr(current, "\"clientIP\"") != NULL) {
        return SESSMGR_UPDATE_COMMIT; /* not the first access: hand back nothing, keep it */
    }
    snprintf(next, sizeof next, "{\"clientIP\":{\"value\":\"%s\"}}", client_ip);
    if (sessmgr_update_set(update, next) != SESSMGR_OK) {
        return SESSMGR_UPDATE_ABORT;
    }
    return SESSMGR_UPDATE_COMMIT;
}

static int32_t abort_update(sessmgr_update *update, const char *current, void *user_data) {
    (void)current;
    (void)user_data;
    OK(sessmgr_update_set(update, "{\"lost\":true}"));
    return SESSMGR_UPDATE_ABORT;
}

static void client_ip_storage(void) {
    char *session = NULL;
    char *value = NULL;
    char first_ip[] = "192.0.2.10";
    char second_ip[] = "198.51.100.7";
    OK(sessmgr_session_create(NULL, &session));
    FAILS(SESSMGR_NO_VALUE, sessmgr_storage_get(session, "/clientIP", &value));
    OK(sessmgr_storage_update(session, store_client_ip, first_ip));
    OK(sessmgr_storage_update(session, store_client_ip, second_ip));
    OK(sessmgr_storage_get(session, "/clientIP/value", &value));
    CHECK_STR(value, "\"192.0.2.10\"");
    sessmgr_string_free(value);
    FAILS(SESSMGR_ABORTED, sessmgr_storage_update(session, abort_update, NULL));
    OK(sessmgr_storage_get(session, "", &value));
    CHECK_STR(value, "{\"clientIP\":{\"value\":\"192.0.2.10\"}}");
    sessmgr_string_free(value);
    OK(sessmgr_session_close(session));
    sessmgr_string_free(session);

    /* The remote-session example: share settings between the processes of one session. */
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Designer\"}", &session));
    OK(sessmgr_storage_set(session, "/settings", "{\"property\":\"a\",\"property2\":2}"));
    OK(sessmgr_storage_get(session, "/settings/property2", &value));
    CHECK_STR(value, "2");
    sessmgr_string_free(value);
    OK(sessmgr_session_close(session));
    sessmgr_string_free(session);
}

/* ---- 4D: Session info --------------------------------------------------------------------- */

static void session_info_object(void) {
    char *session = NULL;
    char *info = NULL;
    char field[128];
    char created[64];
    char expected[1024];
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"Designer\",\"machineName\":\"My Computer\","
                              "\"systemUserName\":\"John Doe\",\"IPAddress\":\"localhost\",\"hostType\":\"mac\","
                              "\"persistentID\":\"8FFDAE519F1F4DCDB81E8E8DB00AD101\"}",
                              &session));
    CHECK(strlen(session) == 32);
    OK(sessmgr_session_info(session, &info));

    CHECK(json_text_field(info, "type", field, sizeof field));
    CHECK_STR(field, "remote");
    CHECK(json_text_field(info, "userName", field, sizeof field));
    CHECK_STR(field, "Designer");
    CHECK(json_text_field(info, "machineName", field, sizeof field));
    CHECK_STR(field, "My Computer");
    CHECK(json_text_field(info, "systemUserName", field, sizeof field));
    CHECK_STR(field, "John Doe");
    CHECK(json_text_field(info, "IPAddress", field, sizeof field));
    CHECK_STR(field, "localhost");
    CHECK(json_text_field(info, "hostType", field, sizeof field));
    CHECK_STR(field, "mac");
    CHECK(json_text_field(info, "creationDateTime", created, sizeof created));
    CHECK(is_iso8601_millis(created));
    CHECK(json_text_field(info, "state", field, sizeof field));
    CHECK_STR(field, "active");
    CHECK(json_text_field(info, "ID", field, sizeof field));
    CHECK_STR(field, session);
    CHECK(json_text_field(info, "persistentID", field, sizeof field));
    CHECK_STR(field, "8FFDAE519F1F4DCDB81E8E8DB00AD101");

    /* Exactly those ten fields, in 4D's order. */
    snprintf(expected, sizeof expected,
             "{\"type\":\"remote\",\"userName\":\"Designer\",\"machineName\":\"My Computer\","
             "\"systemUserName\":\"John Doe\",\"IPAddress\":\"localhost\",\"hostType\":\"mac\","
             "\"creationDateTime\":\"%s\",\"state\":\"active\",\"ID\":\"%s\","
             "\"persistentID\":\"8FFDAE519F1F4DCDB81E8E8DB00AD101\"}",
             created, session);
    CHECK_STR(info, expected);
    sessmgr_string_free(info);

    /* An invalid ID gives a null object: here, SESSMGR_NOT_FOUND and nothing written. */
    OK(sessmgr_session_close(session));
    info = NULL;
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_info(session, &info));
    CHECK(info == NULL);
    sessmgr_string_free(session);
}

int main(void) {
    use_test_store();
    student_survey();
    web_admin_check();
    idle_timeouts();
    client_ip_storage();
    session_info_object();
    return finish("seeds");
}
