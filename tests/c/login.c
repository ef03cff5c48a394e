/* The login a host should follow (SPEC section 10): a guest session, its storage written, the
 * password checked, then rotate_id with the grant: the old ID is refused, the storage is still
 * there under the new one. Then a one-time passcode handed to a third party's callback,
 * restored once and refused the second time; the clients list shows neither ID nor passcode. */
#include "check.h"

static char *created(void) {
    char *id = NULL;
    OK(sessmgr_session_create(NULL, &id));
    return id;
}

int main(void) {
    char *guest = NULL;
    char *user = NULL;
    char *token = NULL;
    char *restored = NULL;
    char *text = NULL;
    bool admin = true;
    use_test_store();
    guest = created();

    /* Before login: a guest with a cart. */
    OK(sessmgr_session_has_privilege(guest, "WebAdmin", &admin));
    CHECK(!admin);
    OK(sessmgr_storage_set(guest, "/cart", "[42]"));

    /* The password checks out: a new ID and the grant in one step. */
    OK(sessmgr_session_rotate_id(guest, "{\"privileges\":[\"WebAdmin\"],\"userName\":\"ann\"}", &user));
    CHECK(strcmp(guest, user) != 0);
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_has_privilege(guest, "WebAdmin", &admin));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_storage_get(guest, "", &text));
    CHECK(text == NULL);
    OK(sessmgr_session_has_privilege(user, "WebAdmin", &admin));
    CHECK(admin);
    OK(sessmgr_storage_get(user, "/cart", &text));
    CHECK_STR(text, "[42]");
    sessmgr_string_free(text);
    OK(sessmgr_session_get_user_name(user, &text));
    CHECK_STR(text, "ann");
    sessmgr_string_free(text);

    /* A passcode for a callback that comes without the cookie: restored once. */
    OK(sessmgr_session_create_otp(user, 60, &token));
    CHECK(strlen(token) == 32 && strcmp(token, user) != 0);
    OK(sessmgr_session_restore(token, &restored));
    CHECK_STR(restored, user);
    sessmgr_string_free(restored);
    restored = NULL;
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_restore(token, &restored));
    CHECK(restored == NULL);
    CHECK(strstr(sessmgr_last_error(), token) == NULL);

    /* What administrators see names neither. */
    OK(sessmgr_clients_list(&text));
    CHECK(strstr(text, user) == NULL && strstr(text, guest) == NULL && strstr(text, token) == NULL);
    sessmgr_string_free(text);

    /* Logout. */
    OK(sessmgr_session_close(user));
    FAILS(SESSMGR_NOT_FOUND, sessmgr_session_touch(user));
    sessmgr_string_free(token);
    sessmgr_string_free(user);
    sessmgr_string_free(guest);
    return finish("login");
}
