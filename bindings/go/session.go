package sessmgr

// #include <stdlib.h>
// #include <sessmgr.h>
import "C"

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// Options are a new session's creation options, in the library's names; zero fields are left
// out (the library's defaults apply). Type is "web" (the default: a guest), "rest", "remote",
// "storedProcedure" or "standalone".
type Options struct {
	Type           string `json:"type,omitempty"`
	UserName       string `json:"userName,omitempty"` // remote sessions only
	MachineName    string `json:"machineName,omitempty"`
	SystemUserName string `json:"systemUserName,omitempty"`
	IPAddress      string `json:"IPAddress,omitempty"`
	HostType       string `json:"hostType,omitempty"`
	PersistentID   string `json:"persistentID,omitempty"`
	IdleTimeout    int32  `json:"idleTimeout,omitempty"` // minutes
	MaxLifetime    int64  `json:"maxLifetime,omitempty"` // seconds
}

// Info is 4D's Session.info.
type Info struct {
	Type             string    `json:"type"`
	UserName         string    `json:"userName"`
	MachineName      string    `json:"machineName"`
	SystemUserName   string    `json:"systemUserName"`
	IPAddress        string    `json:"IPAddress"`
	HostType         string    `json:"hostType"`
	CreationDateTime time.Time `json:"creationDateTime"`
	State            string    `json:"state"`
	ID               string    `json:"ID"`
	PersistentID     string    `json:"persistentID"`
}

// Grant is what SetPrivileges and RotateID give a session: 4D's privileges and roles, and the
// user it now belongs to.
type Grant struct {
	Privileges []string `json:"privileges"`
	Roles      []string `json:"roles,omitempty"`
	UserName   string   `json:"userName,omitempty"`
}

// Message is one message administrators sent a client (DisconnectAt on a disconnection's
// notice).
type Message struct {
	Time         time.Time  `json:"time"`
	Text         string     `json:"text"`
	DisconnectAt *time.Time `json:"disconnectAt,omitempty"`
}

// Session is one session of the registry, as 4D's Session object. Closing it is explicit
// (Close); a Session dropped leaves the session open, as a cookie would. Its methods may be
// called from any goroutine.
type Session struct {
	id string
}

var idForms = regexp.MustCompile(`^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$`)

// CanonicalID is a session ID in the form the library hands out (32 uppercase hex digits),
// from any form it accepts; text of no such form is returned as it is, for the library to
// refuse. Key anything of your own on this form.
func CanonicalID(id string) string {
	if idForms.MatchString(id) {
		return strings.ToUpper(strings.ReplaceAll(id, "-", ""))
	}
	return id
}

// Open is the Session of an ID the host was given (a cookie): no call is made; the first
// method tells whether it is live (ErrNotFound) or malformed (ErrInvalidArgument).
func Open(id string) *Session {
	return &Session{id: CanonicalID(id)}
}

// CreateSession creates a session.
func CreateSession(opts Options) (*Session, error) {
	if opts.Type == "" {
		opts.Type = "web"
	}
	options, err := cJSON(opts, "options")
	if err != nil {
		return nil, err
	}
	defer free(options)
	id, err := callText(func(out **C.char) C.sessmgr_status {
		return C.sessmgr_session_create(options, out)
	})
	if err != nil {
		return nil, err
	}
	return &Session{id: id}, nil
}

// ID is the session ID: a bearer token, to keep out of logs.
func (s *Session) ID() string { return s.id }

// String never shows the ID (a Session printed in a log must not leak it).
func (s *Session) String() string { return "sessmgr.Session" }

// withID runs f with the session ID as a C string.
func (s *Session) withID(f func(id *C.char) C.sessmgr_status) error {
	id, err := cText(s.id, "session ID")
	if err != nil {
		return err
	}
	defer free(id)
	return call(func() C.sessmgr_status { return f(id) })
}

// textOf runs a call taking the ID and a char ** out.
func (s *Session) textOf(f func(id *C.char, out **C.char) C.sessmgr_status) (string, error) {
	id, err := cText(s.id, "session ID")
	if err != nil {
		return "", err
	}
	defer free(id)
	return callText(func(out **C.char) C.sessmgr_status { return f(id, out) })
}

// jsonOf runs a call taking the ID and a char ** out, and decodes that JSON into v.
func (s *Session) jsonOf(v any, f func(id *C.char, out **C.char) C.sessmgr_status) error {
	text, err := s.textOf(f)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(text), v)
}

// withText runs a call taking the ID and one more string.
func (s *Session) withText(value, what string, f func(id, value *C.char) C.sessmgr_status) error {
	text, err := cText(value, what)
	if err != nil {
		return err
	}
	defer free(text)
	return s.withID(func(id *C.char) C.sessmgr_status { return f(id, text) })
}

// Info is 4D's Session.info.
func (s *Session) Info() (Info, error) {
	var info Info
	err := s.jsonOf(&info, func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_info(id, out)
	})
	return info, err
}

// UserName is the session's user: for web and rest, the one SetPrivileges gave it.
func (s *Session) UserName() (string, error) {
	return s.textOf(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_get_user_name(id, out)
	})
}

// Identifier is FileMaker's session identifier ("" until set).
func (s *Session) Identifier() (string, error) {
	return s.textOf(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_get_identifier(id, out)
	})
}

// SetIdentifier is FileMaker's Set Session Identifier.
func (s *Session) SetIdentifier(identifier string) error {
	return s.withText(identifier, "identifier", func(id, value *C.char) C.sessmgr_status {
		return C.sessmgr_session_set_identifier(id, value)
	})
}

// SetState sets "active", "postponed" or "sleeping".
func (s *Session) SetState(state string) error {
	return s.withText(state, "state", func(id, value *C.char) C.sessmgr_status {
		return C.sessmgr_session_set_state(id, value)
	})
}

// SetPrivileges is 4D's .setPrivileges(): it replaces the grant, and returns the names it
// ignored (not declared in roles.json). The session types without privileges give
// ErrNotSupported (4D's false).
func (s *Session) SetPrivileges(grant Grant) (ignored []string, err error) {
	if grant.Privileges == nil {
		grant.Privileges = []string{}
	}
	privileges, err := cJSON(grant, "privileges")
	if err != nil {
		return nil, err
	}
	defer free(privileges)
	err = s.jsonOf(&ignored, func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_set_privileges(id, privileges, out)
	})
	return ignored, err
}

// RotateID gives the session a new random ID and keeps everything else (call it at login,
// against session fixation); a grant, if given, replaces the old one in the same step. The
// Session follows: ID() is the new ID, which is also returned (set it as the new cookie).
func (s *Session) RotateID(grant *Grant) (string, error) {
	var privileges *C.char
	if grant != nil {
		g := *grant
		if g.Privileges == nil {
			g.Privileges = []string{}
		}
		var err error
		if privileges, err = cJSON(g, "privileges"); err != nil {
			return "", err
		}
		defer free(privileges)
	}
	id, err := s.textOf(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_rotate_id(id, privileges, out)
	})
	if err != nil {
		return "", err
	}
	s.id = id
	return id, nil
}

// ClearPrivileges is 4D's .clearPrivileges(): the session becomes a guest.
func (s *Session) ClearPrivileges() error {
	return s.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_session_clear_privileges(id)
	})
}

// HasPrivilege is 4D's .hasPrivilege() (always true for remote and stored-procedure sessions).
func (s *Session) HasPrivilege(privilege string) (bool, error) {
	var result C.bool
	err := s.withText(privilege, "privilege", func(id, name *C.char) C.sessmgr_status {
		return C.sessmgr_session_has_privilege(id, name, &result)
	})
	return bool(result), err
}

// Privileges are the privileges held, expanded.
func (s *Session) Privileges() ([]string, error) {
	var names []string
	err := s.jsonOf(&names, func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_get_privileges(id, out)
	})
	return names, err
}

// IsGuest is 4D's .isGuest().
func (s *Session) IsGuest() (bool, error) {
	var result C.bool
	err := s.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_session_is_guest(id, &result)
	})
	return bool(result), err
}

// IdleTimeout is how many minutes of inactivity end a web or rest session.
func (s *Session) IdleTimeout() (int32, error) {
	var minutes C.int32_t
	err := s.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_session_get_idle_timeout(id, &minutes)
	})
	return int32(minutes), err
}

// SetIdleTimeout sets it (at least the configured minimum).
func (s *Session) SetIdleTimeout(minutes int32) error {
	return s.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_session_set_idle_timeout(id, C.int32_t(minutes))
	})
}

func (s *Session) date(f func(id *C.char, out **C.char) C.sessmgr_status) (time.Time, error) {
	text, err := s.textOf(f)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, text)
}

// ExpirationDate is when the session expires if left idle.
func (s *Session) ExpirationDate() (time.Time, error) {
	return s.date(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_get_expiration_date(id, out)
	})
}

// LifetimeEnd is the absolute end, which activity never moves; ErrNoValue when there is none.
func (s *Session) LifetimeEnd() (time.Time, error) {
	return s.date(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_get_lifetime_end(id, out)
	})
}

// SetLifetimeEnd fixes the absolute end (kept to the millisecond), or clears it (nil).
func (s *Session) SetLifetimeEnd(end *time.Time) error {
	if end == nil {
		return s.withID(func(id *C.char) C.sessmgr_status {
			return C.sessmgr_session_set_lifetime_end(id, nil)
		})
	}
	if end.Nanosecond()%int(time.Millisecond) != 0 {
		return invalid("the end is finer than a millisecond, which cannot be kept exactly")
	}
	return s.withText(end.UTC().Format("2006-01-02T15:04:05.000Z"), "end",
		func(id, value *C.char) C.sessmgr_status {
			return C.sessmgr_session_set_lifetime_end(id, value)
		})
}

// AttachFile records that the client opened a file (FileMaker's guestFiles).
func (s *Session) AttachFile(filename, accountName, privsetName string) error {
	file := map[string]string{"filename": filename, "privsetName": privsetName}
	if accountName != "" {
		file["accountName"] = accountName
	}
	text, err := cJSON(file, "file")
	if err != nil {
		return err
	}
	defer free(text)
	return s.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_session_attach_file(id, text)
	})
}

// DetachFile records that the client closed a file.
func (s *Session) DetachFile(filename string) error {
	return s.withText(filename, "filename", func(id, value *C.char) C.sessmgr_status {
		return C.sessmgr_session_detach_file(id, value)
	})
}

// ClientID is the client number administrators see: not a secret, unlike the session ID.
func (s *Session) ClientID() (uint64, error) {
	var client C.uint64_t
	err := s.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_session_get_client_id(id, &client)
	})
	return uint64(client), err
}

// TakeMessages are the messages administrators sent this client, oldest first, each given
// once.
func (s *Session) TakeMessages() ([]Message, error) {
	var taken struct {
		Messages []Message `json:"messages"`
	}
	err := s.jsonOf(&taken, func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_take_messages(id, out)
	})
	return taken.Messages, err
}

// CreateOTP is 4D's createOTP(): a one-time passcode that restores this web session once
// (Restore), for lifespanSeconds (0: the idle timeout). It is as secret as the session ID.
func (s *Session) CreateOTP(lifespanSeconds int32) (string, error) {
	return s.textOf(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_session_create_otp(id, C.int32_t(lifespanSeconds), out)
	})
}

// Touch records activity: the idle timeout starts again.
func (s *Session) Touch() error {
	return s.withID(func(id *C.char) C.sessmgr_status { return C.sessmgr_session_touch(id) })
}

// RequestAnswer is what Request found.
type RequestAnswer struct {
	// Granted is whether the session holds the privilege asked.
	Granted bool
	// Value is the storage JSON at the pointer asked; nil when nothing is stored there.
	Value json.RawMessage
}

// Request is a request's work in one call (sessmgr_session_request): the activity of Touch,
// HasPrivilege(privilege) and the storage value at the JSON Pointer pointer.
func (s *Session) Request(privilege, pointer string) (RequestAnswer, error) {
	var answer RequestAnswer
	p, err := cText(pointer, "pointer")
	if err != nil {
		return answer, err
	}
	defer free(p)
	var granted C.bool
	var out *C.char
	err = s.withText(privilege, "privilege", func(id, name *C.char) C.sessmgr_status {
		return C.sessmgr_session_request(id, name, p, &granted, &out)
	})
	if err != nil {
		return answer, err
	}
	answer.Granted = bool(granted)
	if out != nil {
		answer.Value = json.RawMessage(C.GoString(out))
		C.sessmgr_string_free(out)
	}
	return answer, nil
}

// Close ends the session.
func (s *Session) Close() error {
	return s.withID(func(id *C.char) C.sessmgr_status { return C.sessmgr_session_close(id) })
}

// Storage is 4D's .storage: the session's shared JSON object.
func (s *Session) Storage() Storage { return Storage{s} }
