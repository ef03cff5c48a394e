package sessmgr

/*
#cgo pkg-config: sessmgr
#include <stdlib.h>
#include <sessmgr.h>
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"strings"
	"unsafe"
)

// call runs one library call with its goroutine locked to its OS thread, so that the message of
// a failure (sessmgr_last_error, kept per thread) is read on the thread that failed: between two
// cgo calls, a goroutine may otherwise move to another thread.
func call(f func() C.sessmgr_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if status := f(); status != C.SESSMGR_OK {
		return &Error{Status: Status(status), Message: C.GoString(C.sessmgr_last_error())}
	}
	return nil
}

// callText runs a call whose last parameter is a char ** out, and returns that text, freed.
func callText(f func(out **C.char) C.sessmgr_status) (string, error) {
	var out *C.char
	err := call(func() C.sessmgr_status { return f(&out) })
	if out == nil {
		return "", err
	}
	defer C.sessmgr_string_free(out)
	return C.GoString(out), err
}

// callJSON runs a call whose last parameter is a char ** out, and decodes that JSON into v.
func callJSON(v any, f func(out **C.char) C.sessmgr_status) error {
	text, err := callText(f)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(text), v)
}

// cText is a Go string as a C string, which the caller frees (defer C.free); a string holding a
// NUL byte is refused, as C would see it cut short.
func cText(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, invalid("%s holds a NUL byte", what)
	}
	return C.CString(s), nil
}

// cJSON is a value as C JSON text, which the caller frees.
func cJSON(v any, what string) (*C.char, error) {
	encoded, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("%s has no JSON form: %v", what, err)
	}
	return cText(string(encoded), what)
}

func free(s *C.char) {
	C.free(unsafe.Pointer(s))
}
