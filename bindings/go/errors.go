package sessmgr

import "fmt"

// Status is a sessmgr_status code of sessmgr.h.
type Status int32

// The statuses of sessmgr.h. Each failed call returns an *Error whose Status is one of these;
// errors.Is(err, ErrNotFound) tells which (every Err… below is the sentinel of its status).
const (
	StatusNullArgument    Status = 1
	StatusInvalidArgument Status = 2
	StatusInvalidJSON     Status = 3
	StatusNotFound        Status = 4
	StatusNoValue         Status = 5
	StatusNotSupported    Status = 6
	StatusLimitExceeded   Status = 7
	StatusReentrant       Status = 8
	StatusAborted         Status = 9
	StatusInternal        Status = 10
	StatusBadState        Status = 11
	StatusUnavailable     Status = 12
	StatusConflict        Status = 13
)

// The sentinel of each status, for errors.Is.
var (
	ErrNullArgument    = &sentinel{StatusNullArgument, "a required argument is null"}
	ErrInvalidArgument = &sentinel{StatusInvalidArgument, "an argument is malformed or out of range"}
	ErrInvalidJSON     = &sentinel{StatusInvalidJSON, "a JSON argument does not parse"}
	ErrNotFound        = &sentinel{StatusNotFound, "no live session has that ID"}
	ErrNoValue         = &sentinel{StatusNoValue, "nothing is stored there"}
	ErrNotSupported    = &sentinel{StatusNotSupported, "the operation does nothing for this session type"}
	ErrLimitExceeded   = &sentinel{StatusLimitExceeded, "a configured limit would be passed"}
	ErrReentrant       = &sentinel{StatusReentrant, "a call the library refuses from inside its own callback"}
	ErrAborted         = &sentinel{StatusAborted, "an update gave up"}
	ErrInternal        = &sentinel{StatusInternal, "a bug in the library, caught at its boundary"}
	ErrBadState        = &sentinel{StatusBadState, "the call does not fit the library's current state"}
	ErrUnavailable     = &sentinel{StatusUnavailable, "the Redis store could not be reached in time"}
	ErrConflict        = &sentinel{StatusConflict, "the storage does not hold what the call expected"}
)

// Sentinels maps every status of sessmgr.h (but SESSMGR_OK) to its sentinel.
var Sentinels = map[Status]error{}

func init() {
	for _, s := range []*sentinel{
		ErrNullArgument, ErrInvalidArgument, ErrInvalidJSON, ErrNotFound, ErrNoValue,
		ErrNotSupported, ErrLimitExceeded, ErrReentrant, ErrAborted, ErrInternal, ErrBadState,
		ErrUnavailable, ErrConflict,
	} {
		Sentinels[s.status] = s
	}
}

type sentinel struct {
	status Status
	text   string
}

func (s *sentinel) Error() string { return "sessmgr: " + s.text }

// Error is what a failed call returns: the status and the library's message (which never holds
// a session ID or a stored value).
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("sessmgr: status %d", e.Status)
	}
	return "sessmgr: " + e.Message
}

// Unwrap gives the status's sentinel, so that errors.Is(err, ErrNotFound) holds.
func (e *Error) Unwrap() error {
	if s, ok := Sentinels[e.Status]; ok {
		return s
	}
	return nil
}

// invalid is the error of an argument refused before the library is called.
func invalid(format string, args ...any) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}
