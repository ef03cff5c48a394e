// The C++ wrapper: RAII sessions, std::string in and out, exceptions with status and message.
// Both headers are included twice on purpose: their include guards must hold.
#include "sessmgr.h"
#include "sessmgr.hpp"
#include "sessmgr.h"
#include "sessmgr.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

static int failures = 0;

#define EXPECT(condition)                                                          \
    do {                                                                           \
        if (!(condition)) {                                                        \
            std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #condition); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

template <typename Call> static sessmgr_status status_of(Call call) {
    try {
        call();
    } catch (const sessmgr::Error &e) {
        EXPECT(std::string(e.what()).find("sessmgr_") == 0);
        return e.status();
    }
    return SESSMGR_OK;
}

int main() {
    // On the store tests/c_programs.rs names, if it names one (the Redis store).
    const char *store = std::getenv("SESSMGR_TEST_STORE");
    if (store != nullptr && *store != '\0') {
        sessmgr::configure(store);
    }
    sessmgr::configure(R"({"clock":"manual"})");
    sessmgr::load_roles(R"({"privileges":[{"privilege":"simple"},{"privilege":"medium","includes":["simple"]}],
                            "roles":[{"role":"Medium","privileges":["medium"]}],
                            "permissions":{"allowed":[{"applyTo":"City","type":"dataclass","read":["medium"]},
                                                      {"applyTo":"Secret","type":"dataclass","read":["WebAdmin"]}]}})");
    std::string kept;
    {
        sessmgr::Session web = sessmgr::Session::create();
        EXPECT(web.id().size() == 32);
        EXPECT(web.is_guest());
        EXPECT(web.set_privileges(R"({"roles":"Medium","privileges":["nope"],"userName":"ann"})") == R"(["nope"])");
        EXPECT(web.has_privilege("SIMPLE"));
        EXPECT(!web.has_privilege("WebAdmin"));
        EXPECT(web.privileges() == R"(["simple","medium"])");
        EXPECT(web.has_permission("City", "read"));
        EXPECT(!web.has_permission("Secret.code", "read"));
        EXPECT(web.explain_permission("City.name", "read").find(R"("allowed":true)") != std::string::npos);
        bool refused = false;
        try {
            web.has_permission("City", "Read");
        } catch (const sessmgr::Error &e) {
            refused = e.status() == SESSMGR_INVALID_ARGUMENT;
        }
        EXPECT(refused);

        EXPECT(web.user_name() == "ann");
        web.set_identifier("ann@kiosk-3");
        EXPECT(web.identifier() == "ann@kiosk-3");
        web.set_idle_timeout(120);
        EXPECT(web.idle_timeout() == 120);
        EXPECT(web.expiration_date().size() == 24);
        web.storage_set("/cart", "[1,2]");
        web.storage_update([](const std::string &current) {
            return current == R"({"cart":[1,2]})" ? std::string(R"({"cart":[1,2,3]})") : std::string();
        });
        EXPECT(web.storage_get("/cart") == "[1,2,3]");
        sessmgr::Session::RequestAnswer answer = web.request("simple", "/cart");
        EXPECT(answer.granted && answer.json && *answer.json == "[1,2,3]");
        answer = web.request("WebAdmin", "/nothing");
        EXPECT(!answer.granted && !answer.json);
        // An exception thrown by the update function comes back out, and nothing changes.
        bool thrown = false;
        try {
            web.storage_update([](const std::string &) -> std::string { throw std::runtime_error("no"); });
        } catch (const std::runtime_error &e) {
            thrown = std::string(e.what()) == "no";
        }
        EXPECT(thrown);
        EXPECT(web.storage_get() == R"({"cart":[1,2,3]})");
        EXPECT(status_of([&] { web.storage_get("/missing"); }) == SESSMGR_NO_VALUE);
        EXPECT(status_of([&] { web.storage_set("/x", "{bad"); }) == SESSMGR_INVALID_JSON);
        // Atomic without a callback.
        web.storage_compare_and_set("/cart", std::string("[1.0,2,3]"), std::string("\"done\""));
        EXPECT(web.storage_get("/cart") == "\"done\"");
        EXPECT(status_of([&] { web.storage_compare_and_set("/cart", std::nullopt, std::string("1")); }) ==
               SESSMGR_CONFLICT);
        web.storage_compare_and_set("/cart", std::string("\"done\""), std::nullopt);
        EXPECT(web.storage_increment("/n", 40) == 40);
        EXPECT(web.storage_increment("/n") == 41);
        EXPECT(status_of([&] { web.storage_increment("/n", INT64_MAX); }) == SESSMGR_LIMIT_EXCEEDED);
        EXPECT(status_of([&] { web.set_state("asleep"); }) == SESSMGR_INVALID_ARGUMENT);
        web.attach_file(R"({"filename":"Survey"})");
        EXPECT(sessmgr::clients_list().find(R"("userName":"ann@kiosk-3")") != std::string::npos);
        web.detach_file("Survey");
        // Clients by number: a message, taken once.
        const std::uint64_t client = web.client_id();
        EXPECT(client > 0);
        EXPECT(sessmgr::clients_list().find("\"id\":\"" + std::to_string(client) + "\"") != std::string::npos);
        EXPECT(sessmgr::clients_list().find(web.id()) == std::string::npos);
        EXPECT(sessmgr::clients_query(R"({"search":"KIOSK-3"})").find(R"("total":1)") != std::string::npos);
        EXPECT(sessmgr::clients_query(R"({"search":"kiosk-4"})").find(R"("total":0)") != std::string::npos);
        EXPECT(sessmgr::sessions_query().find(web.id()) == std::string::npos);
        EXPECT(sessmgr::sessions_query().find("\"clientId\":" + std::to_string(web.client_id())) != std::string::npos);
        EXPECT(status_of([] { sessmgr::clients_query(R"({"limit":-1})"); }) == SESSMGR_INVALID_ARGUMENT);
        sessmgr::send_message(client, "hello");
        EXPECT(web.take_messages().find(R"("text":"hello")") != std::string::npos);
        EXPECT(web.take_messages() == R"({"messages":[]})");
        EXPECT(status_of([] { sessmgr::disconnect_client(0); }) == SESSMGR_INVALID_ARGUMENT);
        // An absolute end, set, read back and cleared.
        EXPECT(!web.lifetime_end().has_value());
        web.set_lifetime_end(std::string("2031-05-06T07:08:09.123+02:00"));
        EXPECT(web.lifetime_end() == std::optional<std::string>("2031-05-06T05:08:09.123Z"));
        EXPECT(status_of([&] { web.set_lifetime_end(std::string("soon")); }) == SESSMGR_INVALID_ARGUMENT);
        web.set_lifetime_end(std::nullopt);
        EXPECT(!web.lifetime_end().has_value());
        // Rotation: the object follows its session.
        const std::string before = web.id();
        const std::string after = web.rotate_id(std::string(R"({"privileges":["WebAdmin"],"userName":"ann"})"));
        EXPECT(after != before && web.id() == after && web.user_name() == "ann");
        EXPECT(status_of([&] { sessmgr::session_info(before); }) == SESSMGR_NOT_FOUND);
        // The user's sessions, by client number; logging out everywhere comes last.
        EXPECT(sessmgr::user_sessions("ann").find("\"id\":\"" + std::to_string(web.client_id()) + "\"") !=
               std::string::npos);
        // A one-time passcode, restored once.
        const std::string token = web.create_otp(60);
        EXPECT(sessmgr::restore(token) == web.id());
        EXPECT(status_of([&] { sessmgr::restore(token); }) == SESSMGR_NOT_FOUND);

        sessmgr::Session remote = sessmgr::Session::create(R"({"type":"remote","userName":"Designer"})");
        EXPECT(remote.has_privilege("anything"));
        EXPECT(status_of([&] { remote.set_privileges("simple"); }) == SESSMGR_NOT_SUPPORTED);
        EXPECT(sessmgr::session_info(remote.id()).find(R"("userName":"Designer")") != std::string::npos);
        kept = remote.release();

        // Moving transfers ownership: exactly one close.
        sessmgr::Session moved = std::move(web);
        EXPECT(moved.user_name() == "ann");
        EXPECT(sessmgr::session_count() == 2);
        EXPECT(sessmgr::user_close_sessions("ann") == 1);
        EXPECT(sessmgr::session_count() == 1);
        moved.release();
    }
    // Destruction closed the owned sessions and left the released one open.
    EXPECT(sessmgr::session_count() == 1);
    EXPECT(status_of([&] { sessmgr::session_info(kept); }) == SESSMGR_OK);
    {
        sessmgr::Session adopted = sessmgr::Session::adopt(kept);
        adopted.close();
        EXPECT(status_of([&] { adopted.close(); }) == SESSMGR_NOT_FOUND);
    }
    EXPECT(sessmgr::session_count() == 0);
    EXPECT(status_of([] { sessmgr::Session::create(R"({"type":"ftp"})"); }) == SESSMGR_INVALID_ARGUMENT);
    EXPECT(status_of([] { sessmgr::session_info("0123"); }) == SESSMGR_INVALID_ARGUMENT);
    EXPECT(sessmgr::version() == sessmgr_version());

    // Expiry through the wrapper: a session that expired is closed quietly on destruction.
    {
        sessmgr::Session brief = sessmgr::Session::create();
        sessmgr::clock_advance(3600);
        EXPECT(status_of([&] { brief.touch(); }) == SESSMGR_NOT_FOUND);
    }
    EXPECT(sessmgr::sweep() == 0);
    sessmgr::reset();

    if (failures > 0) {
        std::fprintf(stderr, "wrapper: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("wrapper: all checks passed\n");
    return 0;
}
