/* Bad input from C: every pointer parameter given NULL, text given invalid UTF-8, JSON given
 * garbage, IDs malformed or unknown. Each call returns its documented status with a message,
 * writes no output, and changes nothing. */
#include "check.h"

static const char *BAD_UTF8 = "\xff\xfe";
static const char *UNKNOWN = "3C81A8D7AFE64C2E9CCFFCDC35DC52F5";

static char *snapshot(void) {
    char *list = NULL;
    OK(sessmgr_sessions_list(&list));
    return list;
}

static int32_t never_called(sessmgr_update *update, const char *current, void *user_data) {
    (void)update;
    (void)current;
    (void)user_data;
    check_failures++;
    return SESSMGR_UPDATE_ABORT;
}

int main(void) {
    char *id = NULL;
    char *before;
    char *after;
    char *out = (char *)"untouched";
    char *const sentinel = out;
    bool flag = true;
    int32_t minutes = -7;
    uint64_t count = 99;
    use_test_store();

    OK(sessmgr_configure("{\"clock\":\"manual\"}"));
    OK(sessmgr_session_create("{\"type\":\"remote\",\"userName\":\"u\"}", &id));
    OK(sessmgr_session_set_identifier(id, "kept"));
    OK(sessmgr_storage_set(id, "/k", "1"));
    before = snapshot();

    /* NULL, for every pointer parameter. */
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_configure(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_load_roles(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_count(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_sessions_list(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_create(NULL, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_close(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_touch(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_info(NULL, &out));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_info(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_set_state(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_set_identifier(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_get_identifier(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_get_user_name(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_set_privileges(id, NULL, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_clear_privileges(NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_has_privilege(id, NULL, &flag));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_has_privilege(id, "WebAdmin", NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_get_privileges(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_is_guest(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_set_idle_timeout(NULL, 60));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_get_idle_timeout(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_session_get_expiration_date(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_get(id, NULL, &out));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_get(id, "", NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_set(id, "/k", NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_set(id, NULL, "2"));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_remove(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_merge(id, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_storage_update(id, NULL, NULL));
    FAILS(SESSMGR_NULL_ARGUMENT, sessmgr_update_set(NULL, "{}"));
    sessmgr_string_free(NULL);

    /* Invalid UTF-8. */
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_configure(BAD_UTF8));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_create(BAD_UTF8, &out));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_info(BAD_UTF8, &out));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_set_identifier(id, BAD_UTF8));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_set_privileges(id, BAD_UTF8, &out));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_has_privilege(id, BAD_UTF8, &flag));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_storage_set(id, "/k", BAD_UTF8));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_storage_get(id, BAD_UTF8, &out));

    /* Malformed JSON. */
    FAILS(SESSMGR_INVALID_JSON, sessmgr_configure("{\"clock\":"));
    FAILS(SESSMGR_INVALID_JSON, sessmgr_load_roles("{\"privileges\":[}"));
    FAILS(SESSMGR_INVALID_JSON, sessmgr_session_create("{type: web}", &out));
    FAILS(SESSMGR_INVALID_JSON, sessmgr_storage_set(id, "/k", "{\"a\":}"));
    FAILS(SESSMGR_INVALID_JSON, sessmgr_storage_merge(id, "{\"a\""));

    /* Malformed, unknown IDs; enum text and numbers out of range. */
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_touch("not-an-id"));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_touch(UNKNOWN));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_info(UNKNOWN, &out));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_get_idle_timeout(UNKNOWN, &minutes));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_storage_update(UNKNOWN, never_called, NULL));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_session_set_state(id, "asleep"));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_clock_advance(-5));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_configure("{\"maxSessions\":-1}"));
    FAILS(SESSMGR_INVALID_ARGUMENT, sessmgr_configure("{\"nonsense\":1}"));
    FAILS(SESSMGR_NOT_SUPPORTED, sessmgr_session_set_idle_timeout(id, 90));
    FAILS(SESSMGR_NOT_SUPPORTED, sessmgr_session_get_expiration_date(id, &out));

    /* No output was written, and nothing changed. */
    CHECK(out == sentinel);
    CHECK(flag == true);
    CHECK(minutes == -7);
    OK(sessmgr_session_count(&count));
    CHECK(count == 1);
    after = snapshot();
    CHECK_STR(after, before);
    OK(sessmgr_session_get_identifier(id, &out));
    CHECK_STR(out, "kept");
    sessmgr_string_free(out);
    OK(sessmgr_storage_get(id, "", &out));
    CHECK_STR(out, "{\"k\":1}");
    sessmgr_string_free(out);

    sessmgr_string_free(before);
    sessmgr_string_free(after);
    sessmgr_string_free(id);
    return finish("bad_input");
}
