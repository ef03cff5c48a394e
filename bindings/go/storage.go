package sessmgr

// #include <stdlib.h>
// #include <sessmgr.h>
import "C"

import "encoding/json"

// Storage is a session's storage, addressed by JSON Pointer ("" is the whole object, "/cart"
// a top-level key, "/cart/0" inside it). Each call is one atomic step; CompareAndSet and
// Increment are the atomic read-modify-writes, and pass no callback to the library.
type Storage struct {
	session *Session
}

type missing struct{}

// Missing stands for "no value" in CompareAndSet (nil is JSON null).
var Missing any = missing{}

// Raw is the JSON text at pointer; ErrNoValue when there is none.
func (st Storage) Raw(pointer string) (json.RawMessage, error) {
	p, err := cText(pointer, "pointer")
	if err != nil {
		return nil, err
	}
	defer free(p)
	text, err := st.session.textOf(func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_storage_get(id, p, out)
	})
	return json.RawMessage(text), err
}

// Get decodes the value at pointer into v (as json.Unmarshal); ErrNoValue when there is none.
func (st Storage) Get(pointer string, v any) error {
	raw, err := st.Raw(pointer)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// Set stores v (encoded as json.Marshal does) at pointer.
func (st Storage) Set(pointer string, v any) error {
	value, err := cJSON(v, "value")
	if err != nil {
		return err
	}
	defer free(value)
	return st.session.withText(pointer, "pointer", func(id, p *C.char) C.sessmgr_status {
		return C.sessmgr_storage_set(id, p, value)
	})
}

// Remove removes the value at pointer; ErrNoValue when there is none.
func (st Storage) Remove(pointer string) error {
	return st.session.withText(pointer, "pointer", func(id, p *C.char) C.sessmgr_status {
		return C.sessmgr_storage_remove(id, p)
	})
}

// Merge applies an RFC 7386 merge patch (null members remove keys).
func (st Storage) Merge(patch any) error {
	text, err := cJSON(patch, "patch")
	if err != nil {
		return err
	}
	defer free(text)
	return st.session.withID(func(id *C.char) C.sessmgr_status {
		return C.sessmgr_storage_merge(id, text)
	})
}

// CompareAndSet replaces the value at pointer with next (Missing: removes it), only if what
// is there equals expected as JSON (Missing: only if nothing is); otherwise ErrConflict, and
// nothing changes. JSON equality: members in any order, 1 equals 1.0.
func (st Storage) CompareAndSet(pointer string, expected, next any) error {
	var want, value *C.char
	var err error
	if expected != Missing {
		if want, err = cJSON(expected, "expected value"); err != nil {
			return err
		}
		defer free(want)
	}
	if next != Missing {
		if value, err = cJSON(next, "new value"); err != nil {
			return err
		}
		defer free(value)
	}
	return st.session.withText(pointer, "pointer", func(id, p *C.char) C.sessmgr_status {
		return C.sessmgr_storage_compare_and_set(id, p, want, value)
	})
}

// Increment adds delta to the integer at pointer (nothing there counts as 0) and returns the
// sum: ErrConflict if the value is not an integer, ErrLimitExceeded beyond int64.
func (st Storage) Increment(pointer string, delta int64) (int64, error) {
	var result C.int64_t
	err := st.session.withText(pointer, "pointer", func(id, p *C.char) C.sessmgr_status {
		return C.sessmgr_storage_increment(id, p, C.int64_t(delta), &result)
	})
	return int64(result), err
}
