/*
 * sessmgr.hpp: a header-only C++17 wrapper over sessmgr.h.
 *
 *  - sessmgr::Session owns a session: it closes it when destroyed, unless release() was called.
 *  - Strings go in and out as std::string; every string the library hands out is freed here.
 *  - A failed call throws sessmgr::Error, which carries the status and the library's message.
 *
 *     sessmgr::Session web = sessmgr::Session::create();            // a web guest
 *     web.set_privileges(R"({"privileges":["WebAdmin"],"userName":"ann"})");
 *     if (web.has_privilege("WebAdmin")) { ... }
 *     web.set_identifier("ann@kiosk-3");
 */
#ifndef SESSMGR_HPP
#define SESSMGR_HPP

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "sessmgr.h"

namespace sessmgr {

/** A failed call: `status()` is the sessmgr_status, `what()` the library's message. */
class Error : public std::runtime_error {
public:
    Error(sessmgr_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    sessmgr_status status() const noexcept { return status_; }

private:
    sessmgr_status status_;
};

namespace detail {

/** Throws an Error for a failed status, with this thread's last error message. */
inline void check(sessmgr_status status) {
    if (status != SESSMGR_OK) {
        throw Error(status, sessmgr_last_error());
    }
}

/** Owns a string the library handed out, and frees it with sessmgr_string_free. */
struct OwnedText {
    char *text = nullptr;
    OwnedText() = default;
    OwnedText(const OwnedText &) = delete;
    OwnedText &operator=(const OwnedText &) = delete;
    ~OwnedText() { sessmgr_string_free(text); }
    std::string str() const { return text != nullptr ? std::string(text) : std::string(); }
};

/** Calls `call(char **)`, throws on failure, returns the string (freed either way). */
template <typename Call> std::string text_out(Call call) {
    OwnedText out;
    check(call(&out.text));
    return out.str();
}

}  // namespace detail

/** The library's version, e.g. "0.1.0". */
inline std::string version() { return sessmgr_version(); }

/** Changes settings (see sessmgr_configure). */
inline void configure(const std::string &config_json) { detail::check(sessmgr_configure(config_json.c_str())); }

/** Loads a roles.json text (see sessmgr_load_roles). */
inline void load_roles(const std::string &roles_json) { detail::check(sessmgr_load_roles(roles_json.c_str())); }

/** Closes every session and restores every default. */
inline void reset() { detail::check(sessmgr_reset()); }

/** Moves a manual clock forward. */
inline void clock_advance(std::int64_t seconds) { detail::check(sessmgr_clock_advance(seconds)); }

/** Removes expired sessions; returns how many. */
inline std::uint64_t sweep() {
    std::uint64_t expired = 0;
    detail::check(sessmgr_sweep(&expired));
    return expired;
}

/** Live sessions. */
inline std::uint64_t session_count() {
    std::uint64_t count = 0;
    detail::check(sessmgr_session_count(&count));
    return count;
}

/** `{"sessions": [info, …]}`. */
inline std::string sessions_list() {
    return detail::text_out([](char **out) { return sessmgr_sessions_list(out); });
}

/** FileMaker's *List Clients* object. */
inline std::string clients_list() {
    return detail::text_out([](char **out) { return sessmgr_clients_list(out); });
}

/** A page of the clients list: `query_json` as sessmgr_clients_query, e.g.
 *  `{"search": "kiosk", "offset": 20, "limit": 20}`. */
inline std::string clients_query(const std::string &query_json = "{}") {
    return detail::text_out([&](char **out) { return sessmgr_clients_query(query_json.c_str(), out); });
}

/** A page of the sessions list, filtered as clients_query. */
inline std::string sessions_query(const std::string &query_json = "{}") {
    return detail::text_out([&](char **out) { return sessmgr_sessions_query(query_json.c_str(), out); });
}

/** Statistics object. */
inline std::string stats() {
    return detail::text_out([](char **out) { return sessmgr_stats(out); });
}

/** Queues a message for a client, named by its client number (see sessmgr_client_send_message). */
inline void send_message(std::uint64_t client_id, const std::string &text) {
    detail::check(sessmgr_client_send_message(client_id, text.c_str()));
}

/**
 * Disconnects a client after `grace_seconds` (0: at once), with an optional message (empty: none);
 * see sessmgr_client_disconnect.
 */
inline void disconnect_client(std::uint64_t client_id, const std::string &message = std::string(),
                              std::uint32_t grace_seconds = 0) {
    detail::check(sessmgr_client_disconnect(client_id, message.empty() ? nullptr : message.c_str(), grace_seconds));
}

/** `{"clients": [...]}`: a user's live web and rest sessions, by client number (see sessmgr_user_sessions). */
inline std::string user_sessions(const std::string &user_name) {
    return detail::text_out([&](char **out) { return sessmgr_user_sessions(user_name.c_str(), out); });
}

/** Logs a user out everywhere; returns how many sessions were closed. */
inline std::uint64_t user_close_sessions(const std::string &user_name) {
    std::uint64_t closed = 0;
    detail::check(sessmgr_user_close_sessions(user_name.c_str(), &closed));
    return closed;
}

/**
 * 4D's `Session.restore()`: the ID of the session a one-time passcode was made for, which it
 * spends (see sessmgr_session_restore; Session::adopt() takes the session from it).
 */
inline std::string restore(const std::string &token) {
    return detail::text_out([&](char **out) { return sessmgr_session_restore(token.c_str(), out); });
}

/** 4D's `Session info` for any session ID. */
inline std::string session_info(const std::string &id) {
    return detail::text_out([&](char **out) { return sessmgr_session_info(id.c_str(), out); });
}

/** A session, closed when the object is destroyed unless `release()` gave up ownership. */
class Session {
public:
    /** Creates a session; `options_json` empty means a web guest. */
    static Session create(const std::string &options_json = std::string()) {
        return Session(detail::text_out([&](char **out) {
            return sessmgr_session_create(options_json.empty() ? nullptr : options_json.c_str(), out);
        }));
    }

    /** Takes ownership of an existing session by its ID. */
    static Session adopt(std::string id) { return Session(std::move(id)); }

    Session(Session &&other) noexcept : id_(std::move(other.id_)), owned_(other.owned_) { other.owned_ = false; }
    Session &operator=(Session &&other) noexcept {
        if (this != &other) {
            close_quietly();
            id_ = std::move(other.id_);
            owned_ = other.owned_;
            other.owned_ = false;
        }
        return *this;
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    ~Session() { close_quietly(); }

    const std::string &id() const noexcept { return id_; }

    /** Gives up ownership: the session stays open; returns its ID. */
    std::string release() noexcept {
        owned_ = false;
        return id_;
    }

    /**
     * Gives the session a new random ID (call it at login), keeping everything else; with
     * `privileges`, the grant is replaced in the same step. This object follows the session:
     * returns the new ID, which id() now gives.
     */
    const std::string &rotate_id(const std::optional<std::string> &privileges = std::nullopt) {
        id_ = detail::text_out([&](char **out) {
            return sessmgr_session_rotate_id(id_.c_str(), privileges ? privileges->c_str() : nullptr, out);
        });
        return id_;
    }

    /** Closes the session now (throws if it was not live). */
    void close() {
        owned_ = false;
        detail::check(sessmgr_session_close(id_.c_str()));
    }

    void touch() const { detail::check(sessmgr_session_touch(id_.c_str())); }
    /** A request's work in one call (sessmgr_session_request): the activity of touch(), whether
     *  the session holds `privilege`, and the storage JSON at `pointer` (empty when nothing is
     *  stored there). */
    struct RequestAnswer {
        bool granted;
        std::optional<std::string> json;
    };
    RequestAnswer request(const std::string &privilege, const std::string &pointer) const {
        bool granted = false;
        char *out = nullptr;
        detail::check(sessmgr_session_request(id_.c_str(), privilege.c_str(), pointer.c_str(), &granted, &out));
        RequestAnswer answer{granted, std::nullopt};
        if (out != nullptr) {
            answer.json = std::string(out);
            sessmgr_string_free(out);
        }
        return answer;
    }
    std::string info() const { return session_info(id_); }
    void set_state(const std::string &state) const { detail::check(sessmgr_session_set_state(id_.c_str(), state.c_str())); }

    void set_identifier(const std::string &identifier) const {
        detail::check(sessmgr_session_set_identifier(id_.c_str(), identifier.c_str()));
    }
    std::string identifier() const {
        return detail::text_out([&](char **out) { return sessmgr_session_get_identifier(id_.c_str(), out); });
    }
    std::string user_name() const {
        return detail::text_out([&](char **out) { return sessmgr_session_get_user_name(id_.c_str(), out); });
    }

    /** Replaces the privileges; returns the names that were ignored, as a JSON array. */
    std::string set_privileges(const std::string &privileges) const {
        return detail::text_out(
            [&](char **out) { return sessmgr_session_set_privileges(id_.c_str(), privileges.c_str(), out); });
    }
    void clear_privileges() const { detail::check(sessmgr_session_clear_privileges(id_.c_str())); }
    bool has_privilege(const std::string &privilege) const {
        bool result = false;
        detail::check(sessmgr_session_has_privilege(id_.c_str(), privilege.c_str(), &result));
        return result;
    }
    /** 4D's permissions: may this session do `action` ("read", "execute", ...) on `resource`
     *  ("ds", "City", "City.name", "City.getPopulation", ...)? */
    bool has_permission(const std::string &resource, const std::string &action) const {
        bool result = false;
        detail::check(sessmgr_session_has_permission(id_.c_str(), resource.c_str(), action.c_str(), &result));
        return result;
    }
    /** Why has_permission answers as it does, as JSON (see sessmgr_permissions_explain). */
    std::string explain_permission(const std::string &resource, const std::string &action) const {
        return detail::text_out([&](char **out) {
            return sessmgr_permissions_explain(id_.c_str(), resource.c_str(), action.c_str(), out);
        });
    }
    std::string privileges() const {
        return detail::text_out([&](char **out) { return sessmgr_session_get_privileges(id_.c_str(), out); });
    }
    bool is_guest() const {
        bool result = false;
        detail::check(sessmgr_session_is_guest(id_.c_str(), &result));
        return result;
    }

    void set_idle_timeout(std::int32_t minutes) const {
        detail::check(sessmgr_session_set_idle_timeout(id_.c_str(), minutes));
    }
    std::int32_t idle_timeout() const {
        std::int32_t minutes = 0;
        detail::check(sessmgr_session_get_idle_timeout(id_.c_str(), &minutes));
        return minutes;
    }
    std::string expiration_date() const {
        return detail::text_out([&](char **out) { return sessmgr_session_get_expiration_date(id_.c_str(), out); });
    }
    /** The absolute end, which activity never moves; empty when the session has none. */
    std::optional<std::string> lifetime_end() const {
        detail::OwnedText out;
        sessmgr_status status = sessmgr_session_get_lifetime_end(id_.c_str(), &out.text);
        if (status == SESSMGR_NO_VALUE) {
            return std::nullopt;
        }
        detail::check(status);
        return out.str();
    }
    /** Fixes the absolute end (an RFC 3339 date), or clears it (std::nullopt). */
    void set_lifetime_end(const std::optional<std::string> &date) const {
        detail::check(sessmgr_session_set_lifetime_end(id_.c_str(), date ? date->c_str() : nullptr));
    }

    std::string storage_get(const std::string &pointer = std::string()) const {
        return detail::text_out([&](char **out) { return sessmgr_storage_get(id_.c_str(), pointer.c_str(), out); });
    }
    void storage_set(const std::string &pointer, const std::string &value_json) const {
        detail::check(sessmgr_storage_set(id_.c_str(), pointer.c_str(), value_json.c_str()));
    }
    void storage_remove(const std::string &pointer) const {
        detail::check(sessmgr_storage_remove(id_.c_str(), pointer.c_str()));
    }
    void storage_merge(const std::string &patch_json) const {
        detail::check(sessmgr_storage_merge(id_.c_str(), patch_json.c_str()));
    }
    /** Replaces the value at `pointer` with `value_json` (nullopt: removes it) only if what is
     *  there equals `expected_json` as JSON (nullopt: only if nothing is); otherwise throws
     *  Error with status SESSMGR_CONFLICT, and nothing changes. */
    void storage_compare_and_set(const std::string &pointer, const std::optional<std::string> &expected_json,
                                 const std::optional<std::string> &value_json) const {
        detail::check(sessmgr_storage_compare_and_set(id_.c_str(), pointer.c_str(),
                                                      expected_json ? expected_json->c_str() : nullptr,
                                                      value_json ? value_json->c_str() : nullptr));
    }
    /** Adds `delta` to the integer at `pointer` (nothing there is 0); returns the sum. */
    std::int64_t storage_increment(const std::string &pointer, std::int64_t delta = 1) const {
        std::int64_t sum = 0;
        detail::check(sessmgr_storage_increment(id_.c_str(), pointer.c_str(), delta, &sum));
        return sum;
    }

    /**
     * Atomic read-modify-write of the storage: `change` gets the current storage as JSON text
     * and returns the new one, or an empty string to leave it as it is. It may be called more
     * than once (when another write lands meanwhile), so it must have no other effect. An
     * exception it throws is rethrown here, and nothing changes.
     */
    void storage_update(const std::function<std::string(const std::string &)> &change) const {
        struct Context {
            const std::function<std::string(const std::string &)> *change;
            std::exception_ptr error;
        } context{&change, nullptr};
        sessmgr_status status = sessmgr_storage_update(
            id_.c_str(),
            [](sessmgr_update *update, const char *current, void *data) -> std::int32_t {
                Context *ctx = static_cast<Context *>(data);
                try {
                    std::string next = (*ctx->change)(current);
                    if (!next.empty() && sessmgr_update_set(update, next.c_str()) != SESSMGR_OK) {
                        throw Error(SESSMGR_INVALID_ARGUMENT, sessmgr_last_error());
                    }
                    return SESSMGR_UPDATE_COMMIT;
                } catch (...) {
                    ctx->error = std::current_exception();
                    return SESSMGR_UPDATE_ABORT;
                }
            },
            &context);
        if (context.error) {
            std::rethrow_exception(context.error);
        }
        detail::check(status);
    }

    /** 4D's `createOTP()`: a one-time passcode for this web session (0: the idle timeout). */
    std::string create_otp(std::int32_t lifespan_seconds = 0) const {
        return detail::text_out(
            [&](char **out) { return sessmgr_session_create_otp(id_.c_str(), lifespan_seconds, out); });
    }

    /** The client number administrators see for this session. */
    std::uint64_t client_id() const {
        std::uint64_t client = 0;
        detail::check(sessmgr_session_get_client_id(id_.c_str(), &client));
        return client;
    }
    /** `{"messages": [...]}`: the messages waiting for this client, each handed out once. */
    std::string take_messages() const {
        return detail::text_out([&](char **out) { return sessmgr_session_take_messages(id_.c_str(), out); });
    }

    void attach_file(const std::string &file_json) const {
        detail::check(sessmgr_session_attach_file(id_.c_str(), file_json.c_str()));
    }
    void detach_file(const std::string &filename) const {
        detail::check(sessmgr_session_detach_file(id_.c_str(), filename.c_str()));
    }

private:
    explicit Session(std::string id) : id_(std::move(id)), owned_(true) {}

    void close_quietly() noexcept {
        if (owned_) {
            owned_ = false;
            sessmgr_session_close(id_.c_str()); /* already gone (expired, closed) is fine here */
        }
    }

    std::string id_;
    bool owned_ = false;
};

}  // namespace sessmgr

#endif /* SESSMGR_HPP */
