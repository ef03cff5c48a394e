// Package sessmgr keeps a host server's user sessions the way 4D Server and FileMaker Server
// do, over libsessmgr (found with pkg-config: sessmgr). Every function may be called from any
// goroutine; no Go function is ever handed to the library.
package sessmgr

// #include <stdlib.h>
// #include <sessmgr.h>
import "C"

import "encoding/json"

// Version is the library's version.
func Version() string {
	return C.GoString(C.sessmgr_version())
}

// Configure changes settings, in the library's names (a map or a struct with JSON tags):
// Configure(map[string]any{"clock": "manual"}). All or nothing.
func Configure(settings any) error {
	text, err := cJSON(settings, "configuration")
	if err != nil {
		return err
	}
	defer free(text)
	return call(func() C.sessmgr_status { return C.sessmgr_configure(text) })
}

// LoadRoles loads a roles.json (its text).
func LoadRoles(roles string) error {
	text, err := cText(roles, "roles")
	if err != nil {
		return err
	}
	defer free(text)
	return call(func() C.sessmgr_status { return C.sessmgr_load_roles(text) })
}

// Reset closes every session and restores every default.
func Reset() error {
	return call(func() C.sessmgr_status { return C.sessmgr_reset() })
}

// ClockAdvance moves a manual clock forward.
func ClockAdvance(seconds int64) error {
	return call(func() C.sessmgr_status { return C.sessmgr_clock_advance(C.int64_t(seconds)) })
}

// Sweep removes the expired sessions and returns how many.
func Sweep() (uint64, error) {
	var n C.uint64_t
	err := call(func() C.sessmgr_status { return C.sessmgr_sweep(&n) })
	return uint64(n), err
}

// SessionCount is how many sessions are live.
func SessionCount() (uint64, error) {
	var n C.uint64_t
	err := call(func() C.sessmgr_status { return C.sessmgr_session_count(&n) })
	return uint64(n), err
}

// SessionInfo is 4D's Session info: ErrNotFound for an ID no live session has.
func SessionInfo(id string) (Info, error) {
	return Open(id).Info()
}

// SessionsList is the info of every live session, oldest first.
func SessionsList() ([]Info, error) {
	var list struct {
		Sessions []Info `json:"sessions"`
	}
	err := callJSON(&list, func(out **C.char) C.sessmgr_status { return C.sessmgr_sessions_list(out) })
	return list.Sessions, err
}

// ClientsList is FileMaker's Admin API "List Clients" object, as JSON.
func ClientsList() (json.RawMessage, error) {
	text, err := callText(func(out **C.char) C.sessmgr_status { return C.sessmgr_clients_list(out) })
	return json.RawMessage(text), err
}

// Query filters and pages ClientsQuery and SessionsQuery (zero fields: no filter; Limit 0:
// the library's default of 100).
type Query struct {
	Type      string `json:"type,omitempty"`
	UserName  string `json:"userName,omitempty"`
	Search    string `json:"search,omitempty"`
	IPAddress string `json:"ipaddress,omitempty"`
	Offset    uint64 `json:"offset,omitempty"`
	Limit     uint64 `json:"limit,omitempty"`
}

// Page is one page of a query: the rows, and how many matched in all.
type Page struct {
	Rows   []map[string]any
	Total  uint64 `json:"total"`
	Offset uint64 `json:"offset"`
	Limit  uint64 `json:"limit"`
}

// ClientsQuery is a page of the clients list (rows as clients_list has them, with the client
// number as id, never a session ID).
func ClientsQuery(q Query) (Page, error) {
	var answer struct {
		Response struct {
			Clients []map[string]any `json:"clients"`
			Page
		} `json:"response"`
	}
	err := query(q, &answer, func(query *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_clients_query(query, out)
	})
	page := answer.Response.Page
	page.Rows = answer.Response.Clients
	return page, err
}

// SessionsQuery is a page of the sessions list for people to see (each row with the client
// number, clientId, in place of the session ID).
func SessionsQuery(q Query) (Page, error) {
	var answer struct {
		Sessions []map[string]any `json:"sessions"`
		Page
	}
	err := query(q, &answer, func(query *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_sessions_query(query, out)
	})
	answer.Page.Rows = answer.Sessions
	return answer.Page, err
}

func query(q Query, v any, f func(query *C.char, out **C.char) C.sessmgr_status) error {
	text, err := cJSON(q, "query")
	if err != nil {
		return err
	}
	defer free(text)
	return callJSON(v, func(out **C.char) C.sessmgr_status { return f(text, out) })
}

// Stats are the live sessions by type, and counters.
func Stats() (map[string]any, error) {
	var stats map[string]any
	err := callJSON(&stats, func(out **C.char) C.sessmgr_status { return C.sessmgr_stats(out) })
	return stats, err
}

// UserSessions are the live web and rest sessions of a user, oldest first, as clients list
// rows.
func UserSessions(userName string) ([]map[string]any, error) {
	user, err := cText(userName, "user name")
	if err != nil {
		return nil, err
	}
	defer free(user)
	var answer struct {
		Clients []map[string]any `json:"clients"`
	}
	err = callJSON(&answer, func(out **C.char) C.sessmgr_status {
		return C.sessmgr_user_sessions(user, out)
	})
	return answer.Clients, err
}

// UserCloseSessions logs a user out everywhere, and returns how many sessions it closed.
func UserCloseSessions(userName string) (uint64, error) {
	user, err := cText(userName, "user name")
	if err != nil {
		return 0, err
	}
	defer free(user)
	var closed C.uint64_t
	err = call(func() C.sessmgr_status { return C.sessmgr_user_close_sessions(user, &closed) })
	return uint64(closed), err
}

// Restore is 4D's Session.restore(): the session a one-time passcode was made for, which it
// spends (ErrNotFound for one unknown, used or expired).
func Restore(token string) (*Session, error) {
	text, err := cText(token, "token")
	if err != nil {
		return nil, err
	}
	defer free(text)
	id, err := callText(func(out **C.char) C.sessmgr_status { return C.sessmgr_session_restore(text, out) })
	if err != nil {
		return nil, err
	}
	return &Session{id: id}, nil
}

// SendMessage queues a message for a client, named by its client number (Session.ClientID).
func SendMessage(clientID uint64, message string) error {
	text, err := cText(message, "text")
	if err != nil {
		return err
	}
	defer free(text)
	return call(func() C.sessmgr_status {
		return C.sessmgr_client_send_message(C.uint64_t(clientID), text)
	})
}

// DisconnectClient is FileMaker's Disconnect client: it closes the client's session after
// graceSeconds (0: at once), with a message it can show meanwhile ("" for none).
func DisconnectClient(clientID uint64, message string, graceSeconds uint32) error {
	var text *C.char
	if message != "" {
		var err error
		if text, err = cText(message, "message"); err != nil {
			return err
		}
		defer free(text)
	}
	return call(func() C.sessmgr_status {
		return C.sessmgr_client_disconnect(C.uint64_t(clientID), text, C.uint32_t(graceSeconds))
	})
}
