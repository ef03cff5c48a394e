package sessmgr_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sessmgr "github.com/sessmgr/sessmgr/bindings/go"
)

const seedRoles = `{
  "privileges": [
    {"privilege": "simple", "includes": []},
    {"privilege": "medium", "includes": ["simple"]}
  ],
  "roles": [{"role": "Medium", "privileges": ["medium"]}],
  "permissions": {"allowed": [{"applyTo": "ds", "type": "datastore", "read": ["medium"]}]},
  "forceLogin": false,
  "restrictedByDefault": false
}`

// fresh resets the process's one registry before a test.
func fresh(t *testing.T) {
	t.Helper()
	must(t, sessmgr.Reset())
	t.Cleanup(func() { _ = sessmgr.Reset() })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func TestCreateInfoAndClose(t *testing.T) {
	fresh(t)
	s, err := sessmgr.CreateSession(sessmgr.Options{Type: "remote", UserName: "Designer", MachineName: "My Computer"})
	must(t, err)
	if !regexp.MustCompile(`^[0-9A-F]{32}$`).MatchString(s.ID()) {
		t.Fatalf("ID %q", s.ID())
	}
	info, err := s.Info()
	must(t, err)
	if info.Type != "remote" || info.UserName != "Designer" || info.ID != s.ID() || info.CreationDateTime.IsZero() {
		t.Fatalf("info %+v", info)
	}
	same, err := sessmgr.SessionInfo(strings.ToLower(s.ID()))
	must(t, err)
	if same != info {
		t.Fatalf("%+v is not %+v", same, info)
	}
	list, err := sessmgr.SessionsList()
	must(t, err)
	if len(list) != 1 || list[0] != info {
		t.Fatalf("list %+v", list)
	}
	if strings.Contains(s.String(), s.ID()) {
		t.Fatal("a Session printed shows its ID")
	}
	must(t, s.Close())
	err = s.Touch()
	mustIs(t, err, sessmgr.ErrNotFound)
	var failure *sessmgr.Error
	if !errors.As(err, &failure) || failure.Status != sessmgr.StatusNotFound ||
		!strings.HasPrefix(failure.Message, "sessmgr_session_touch: ") || strings.Contains(err.Error(), s.ID()) {
		t.Fatalf("error %#v", err)
	}
	_, err = sessmgr.SessionInfo("not an id")
	mustIs(t, err, sessmgr.ErrInvalidArgument)
}

func TestErrorsWrapTheirStatus(t *testing.T) {
	fresh(t)
	mustIs(t, sessmgr.Configure(map[string]any{"maxSessionz": 1}), sessmgr.ErrInvalidArgument)
	_, err := sessmgr.CreateSession(sessmgr.Options{Type: "ftp"})
	mustIs(t, err, sessmgr.ErrInvalidArgument)
	mustIs(t, sessmgr.LoadRoles(`{"privileges": [`), sessmgr.ErrInvalidJSON)
	mustIs(t, sessmgr.ClockAdvance(1), sessmgr.ErrBadState)
	must(t, sessmgr.Configure(map[string]any{"maxSessions": 1, "overloadPolicy": "refuse"}))
	_, err = sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	_, err = sessmgr.CreateSession(sessmgr.Options{})
	mustIs(t, err, sessmgr.ErrLimitExceeded)
	if errors.Is(err, sessmgr.ErrNotFound) {
		t.Fatal("one status is not another")
	}
	// What Go holds but C cannot take is refused before the call.
	mustIs(t, sessmgr.Open("nul\x00inside").Touch(), sessmgr.ErrInvalidArgument)
	mustIs(t, sessmgr.Configure(map[string]any{"f": func() {}}), sessmgr.ErrInvalidArgument)
	if strings.Count(sessmgr.Version(), ".") != 2 {
		t.Fatal(sessmgr.Version())
	}
}

// headerText is include/sessmgr.h (or the file SESSMGR_HEADER names).
func headerText(t *testing.T) []byte {
	t.Helper()
	header := os.Getenv("SESSMGR_HEADER")
	if header == "" {
		header = filepath.Join("..", "..", "include", "sessmgr.h")
	}
	text, err := os.ReadFile(header)
	must(t, err)
	return text
}

// Every status of sessmgr.h has its constant and its sentinel; nothing else has.
func TestEveryStatusOfTheHeaderHasItsSentinel(t *testing.T) {
	text := headerText(t)
	found := 0
	for _, m := range regexp.MustCompile(`(?m)^#define SESSMGR_(\w+) (\d+)$`).FindAllStringSubmatch(string(text), -1) {
		if strings.HasPrefix(m[1], "UPDATE_") || strings.HasPrefix(m[1], "VERSION") || m[1] == "OK" {
			continue
		}
		found++
		code, _ := strconv.Atoi(m[2])
		sentinel, ok := sessmgr.Sentinels[sessmgr.Status(code)]
		if !ok {
			t.Fatalf("SESSMGR_%s (%d) has no sentinel", m[1], code)
		}
		err := &sessmgr.Error{Status: sessmgr.Status(code), Message: "said"}
		if !errors.Is(err, sentinel) || err.Error() != "sessmgr: said" {
			t.Fatalf("SESSMGR_%s: %v", m[1], err)
		}
	}
	if found < 13 || found != len(sessmgr.Sentinels) {
		t.Fatalf("%d statuses in the header, %d sentinels", found, len(sessmgr.Sentinels))
	}
}

func TestPrivilegesRotationAndUsers(t *testing.T) {
	fresh(t)
	must(t, sessmgr.LoadRoles(seedRoles))
	web, err := sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	guest, err := web.IsGuest()
	must(t, err)
	if !guest {
		t.Fatal("a new web session is a guest")
	}
	ignored, err := web.SetPrivileges(sessmgr.Grant{Roles: []string{"Medium"}, Privileges: []string{"ghost"}, UserName: "ann"})
	must(t, err)
	if len(ignored) != 1 || ignored[0] != "ghost" {
		t.Fatalf("ignored %v", ignored)
	}
	names, err := web.Privileges()
	must(t, err)
	if strings.Join(names, ",") != "simple,medium" {
		t.Fatalf("privileges %v", names)
	}
	if has, _ := web.HasPrivilege("simple"); !has {
		t.Fatal("simple is included in medium")
	}
	if has, _ := web.HasPrivilege("WebAdmin"); has {
		t.Fatal("not granted")
	}
	must(t, web.Storage().Set("/cart", []int{1}))
	before := web.ID()
	after, err := web.RotateID(&sessmgr.Grant{Privileges: []string{"medium"}, UserName: "bob"})
	must(t, err)
	if after == before || web.ID() != after {
		t.Fatal("the session has a new ID and follows it")
	}
	_, err = sessmgr.SessionInfo(before)
	mustIs(t, err, sessmgr.ErrNotFound)
	if user, _ := web.UserName(); user != "bob" {
		t.Fatalf("user %q", user)
	}
	var cart []int
	must(t, web.Storage().Get("/cart", &cart))
	if len(cart) != 1 {
		t.Fatal("the storage stays")
	}
	rows, err := sessmgr.UserSessions("bob")
	must(t, err)
	client, err := web.ClientID()
	must(t, err)
	if len(rows) != 1 || rows[0]["id"] != strconv.FormatUint(client, 10) {
		t.Fatalf("rows %v", rows)
	}
	closed, err := sessmgr.UserCloseSessions("bob")
	must(t, err)
	if closed != 1 {
		t.Fatal(closed)
	}
	mustIs(t, web.Touch(), sessmgr.ErrNotFound)
	remote, err := sessmgr.CreateSession(sessmgr.Options{Type: "remote"})
	must(t, err)
	_, err = remote.SetPrivileges(sessmgr.Grant{Privileges: []string{"simple"}})
	mustIs(t, err, sessmgr.ErrNotSupported)
}

func TestPermissions(t *testing.T) {
	fresh(t)
	must(t, sessmgr.LoadRoles(`{"privileges": [{"privilege": "general"}, {"privilege": "detail"}],
		"roles": [{"role": "Manager", "privileges": ["general"]}],
		"permissions": {"allowed": [
			{"applyTo": "Employee", "type": "dataclass", "read": ["general"]},
			{"applyTo": "Employee.salary", "type": "attribute", "read": ["detail"]}]},
		"restrictedByDefault": true}`))
	web, err := sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	if allowed, err := web.HasPermission("Employee", "read"); err != nil || allowed {
		t.Fatalf("a guest reads Employee: %v %v", allowed, err)
	}
	_, err = web.SetPrivileges(sessmgr.Grant{Roles: []string{"Manager"}})
	must(t, err)
	if allowed, err := web.HasPermission("Employee.name", "read"); err != nil || !allowed {
		t.Fatalf("a manager cannot read Employee.name: %v %v", allowed, err)
	}
	if allowed, err := web.HasPermission("Employee.salary", "read"); err != nil || allowed {
		t.Fatalf("a manager reads the salary without detail: %v %v", allowed, err)
	}
	why, err := web.ExplainPermission("Employee.salary", "read")
	must(t, err)
	if why.Allowed || why.Type != "attribute" || len(why.Checks) == 0 || len(why.Checks[0].Requires) != 2 ||
		strings.Join(why.Checks[0].Requires[1].Privileges[0].Through, ",") != `through role "Manager"` {
		t.Fatalf("explanation %+v", why)
	}
	_, err = web.HasPermission("Employee", "Read")
	mustIs(t, err, sessmgr.ErrInvalidArgument)
	_, err = web.ExplainPermission("a.b.c", "read")
	mustIs(t, err, sessmgr.ErrInvalidArgument)
	_, err = web.ExplainPermission("Employee", "re\x00ad")
	mustIs(t, err, sessmgr.ErrInvalidArgument)
	remote, err := sessmgr.CreateSession(sessmgr.Options{Type: "remote"})
	must(t, err)
	if allowed, err := remote.HasPermission("Employee", "create"); err != nil || !allowed {
		t.Fatalf("a remote session is allowed everything: %v %v", allowed, err)
	}
}

func TestRequestInOneCall(t *testing.T) {
	fresh(t)
	must(t, sessmgr.LoadRoles(seedRoles))
	s, err := sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	_, err = s.SetPrivileges(sessmgr.Grant{Privileges: []string{"medium"}})
	must(t, err)
	must(t, s.Storage().Set("/cart", []int{1, 2}))
	answer, err := s.Request("simple", "/cart")
	must(t, err)
	if !answer.Granted || string(answer.Value) != "[1,2]" {
		t.Fatalf("answer %+v", answer)
	}
	answer, err = s.Request("WebAdmin", "/nothing")
	must(t, err)
	if answer.Granted || answer.Value != nil {
		t.Fatalf("answer %+v", answer)
	}
	_, err = s.Request("simple", "no-slash")
	mustIs(t, err, sessmgr.ErrInvalidArgument)
}

func TestIdentifier(t *testing.T) {
	fresh(t)
	s, err := sessmgr.CreateSession(sessmgr.Options{Type: "remote", UserName: "Guest"})
	must(t, err)
	must(t, s.SetIdentifier("S1234567 é"))
	mustIs(t, s.SetIdentifier(strings.Repeat("x", 257)), sessmgr.ErrLimitExceeded)
	mustIs(t, s.SetIdentifier("nul\x00inside"), sessmgr.ErrInvalidArgument)
	if id, _ := s.Identifier(); id != "S1234567 é" {
		t.Fatalf("identifier %q", id)
	}
}

func TestStorage(t *testing.T) {
	fresh(t)
	s, err := sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	st := s.Storage()
	var v any
	mustIs(t, st.Get("/cart", &v), sessmgr.ErrNoValue)
	must(t, st.Set("/cart", map[string]any{"items": []int{42}}))
	must(t, st.Set("/cart/items/-", 43))
	raw, err := st.Raw("/cart")
	must(t, err)
	if string(raw) != `{"items":[42,43]}` {
		t.Fatalf("raw %s", raw)
	}
	must(t, st.Merge(map[string]any{"cart": nil, "user": map[string]string{"name": "Ann"}}))
	raw, err = st.Raw("")
	must(t, err)
	if string(raw) != `{"user":{"name":"Ann"}}` {
		t.Fatalf("after the merge %s", raw)
	}
	must(t, st.Remove("/user"))
	mustIs(t, st.Remove("/user"), sessmgr.ErrNoValue)
	mustIs(t, st.Set("/f", func() {}), sessmgr.ErrInvalidArgument)
	mustIs(t, st.Get("no slash", &v), sessmgr.ErrInvalidArgument)
}

func TestCompareAndSetAndIncrement(t *testing.T) {
	fresh(t)
	s, err := sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	st := s.Storage()
	must(t, st.CompareAndSet("/cart", sessmgr.Missing, map[string]any{"b": 2, "a": []int{1}}))
	// Equal as JSON: another order of members, 1.0 for 1.
	must(t, st.CompareAndSet("/cart", json.RawMessage(`{"a":[1.0],"b":2}`), nil))
	err = st.CompareAndSet("/cart", "secret", 1)
	mustIs(t, err, sessmgr.ErrConflict)
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "null of 4 bytes") {
		t.Fatalf("conflict %v", err)
	}
	must(t, st.CompareAndSet("/cart", nil, sessmgr.Missing))
	n, err := st.Increment("/n", 1)
	must(t, err)
	if n != 1 {
		t.Fatal(n)
	}
	if n, _ = st.Increment("/n", -5); n != -4 {
		t.Fatal(n)
	}
	must(t, st.Set("/big", int64(1)<<62))
	_, err = st.Increment("/big", 1<<62)
	mustIs(t, err, sessmgr.ErrLimitExceeded)
	must(t, st.Set("/s", "1"))
	_, err = st.Increment("/s", 1)
	mustIs(t, err, sessmgr.ErrConflict)
	raw, err := st.Raw("")
	must(t, err)
	if string(raw) != `{"big":4611686018427387904,"n":-4,"s":"1"}` {
		t.Fatalf("storage %s", raw)
	}
}

func TestClientsMessagesPasscodesAndTimes(t *testing.T) {
	fresh(t)
	must(t, sessmgr.Configure(map[string]any{"clock": "manual"}))
	s, err := sessmgr.CreateSession(sessmgr.Options{IPAddress: "192.0.2.7", IdleTimeout: 75})
	must(t, err)
	if minutes, _ := s.IdleTimeout(); minutes != 75 {
		t.Fatal(minutes)
	}
	client, err := s.ClientID()
	must(t, err)
	must(t, sessmgr.SendMessage(client, "The server restarts at noon."))
	messages, err := s.TakeMessages()
	must(t, err)
	if len(messages) != 1 || messages[0].Text != "The server restarts at noon." {
		t.Fatalf("messages %+v", messages)
	}
	mustIs(t, sessmgr.SendMessage(client+1000, "nobody"), sessmgr.ErrNotFound)
	must(t, s.AttachFile("Invoices", "ann", ""))
	mustIs(t, s.DetachFile("Payroll"), sessmgr.ErrNoValue)
	page, err := sessmgr.ClientsQuery(sessmgr.Query{IPAddress: "192.0.2.", Limit: 10})
	must(t, err)
	if page.Total != 1 || page.Rows[0]["id"] != strconv.FormatUint(client, 10) {
		t.Fatalf("page %+v", page)
	}
	listed, err := sessmgr.ClientsList()
	must(t, err)
	if strings.Contains(string(listed), s.ID()) {
		t.Fatal("the clients list shows a session ID")
	}
	sessions, err := sessmgr.SessionsQuery(sessmgr.Query{Type: "web"})
	must(t, err)
	if sessions.Total != 1 || len(sessions.Rows) != 1 {
		t.Fatalf("sessions %+v", sessions)
	}
	_, err = sessmgr.SessionsQuery(sessmgr.Query{Type: "ftp"})
	mustIs(t, err, sessmgr.ErrInvalidArgument)
	token, err := s.CreateOTP(60)
	must(t, err)
	restored, err := sessmgr.Restore(token)
	must(t, err)
	if restored.ID() != s.ID() {
		t.Fatal("the passcode restores its session")
	}
	_, err = sessmgr.Restore(token)
	mustIs(t, err, sessmgr.ErrNotFound)

	_, err = s.LifetimeEnd()
	mustIs(t, err, sessmgr.ErrNoValue)
	info, _ := s.Info()
	end := info.CreationDateTime.Add(time.Hour)
	must(t, s.SetLifetimeEnd(&end))
	got, err := s.LifetimeEnd()
	must(t, err)
	if !got.Equal(end) {
		t.Fatalf("%v is not %v", got, end)
	}
	finer := end.Add(time.Microsecond)
	mustIs(t, s.SetLifetimeEnd(&finer), sessmgr.ErrInvalidArgument)
	must(t, s.SetLifetimeEnd(nil))
	expires, err := s.ExpirationDate()
	must(t, err)
	if !expires.After(info.CreationDateTime) {
		t.Fatal(expires)
	}
	must(t, sessmgr.ClockAdvance(76*60))
	swept, err := sessmgr.Sweep()
	must(t, err)
	if swept != 1 {
		t.Fatal(swept)
	}
	count, _ := sessmgr.SessionCount()
	if count != 0 {
		t.Fatal(count)
	}
	stats, err := sessmgr.Stats()
	must(t, err)
	if len(stats) == 0 {
		t.Fatal("no stats")
	}
}

// 8 goroutines incrementing one counter lose no increment, and counting by CompareAndSet lose
// no step. The race is made to happen: all start together, and each goes on until every one
// has done 2,000 rounds and met another's write 20 times (an increment that did not follow its
// own last one, or a CompareAndSet conflict).
func TestEightGoroutinesOnOneCounter(t *testing.T) {
	fresh(t)
	s, err := sessmgr.CreateSession(sessmgr.Options{})
	must(t, err)
	const goroutines, times, meetings = 8, 2000, 20
	var wg sync.WaitGroup
	var satisfied, failed atomic.Int32
	rounds := make([]int64, goroutines)
	met := make([]int, goroutines)
	failures := make(chan error, goroutines)
	start := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			fail := func(err error) {
				failed.Store(1)
				failures <- err
			}
			st := sessmgr.Open(s.ID()).Storage()
			<-start
			last := int64(-1)
			done := false
			for satisfied.Load() < goroutines && failed.Load() == 0 {
				now, err := st.Increment("/hits", 1)
				if err != nil {
					fail(err)
					return
				}
				if last >= 0 && now != last+1 {
					met[g]++
				}
				last = now
				for {
					var seen int64
					var expected any = sessmgr.Missing
					if err := st.Get("/cas", &seen); err == nil {
						expected = seen
					} else if !errors.Is(err, sessmgr.ErrNoValue) {
						fail(err)
						return
					}
					err := st.CompareAndSet("/cas", expected, seen+1)
					if err == nil {
						break
					}
					if !errors.Is(err, sessmgr.ErrConflict) {
						fail(err)
						return
					}
					met[g]++
				}
				rounds[g]++
				if !done && rounds[g] >= times && met[g] >= meetings {
					done = true
					satisfied.Add(1)
				}
				if rounds[g] > 1000*times {
					fail(errors.New("the goroutines never met: the race did not happen"))
					return
				}
			}
		}(g)
	}
	close(start)
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	var hits, cas, total int64
	must(t, s.Storage().Get("/hits", &hits))
	must(t, s.Storage().Get("/cas", &cas))
	for _, n := range rounds {
		total += n
	}
	if hits != total || cas != total {
		t.Fatalf("hits %d, cas %d, want %d", hits, cas, total)
	}
	t.Logf("%d rounds, meetings per goroutine: %v", total, met)
}

// The functions of sessmgr.h the module does not call: each takes a C callback, which the
// module never passes (a Go func through cgo is where FFI users meet crashes and deadlocks).
var notBound = map[string]string{
	"sessmgr_storage_update":    "takes a C callback: use Storage.CompareAndSet or Storage.Increment",
	"sessmgr_update_set":        "used only inside a storage_update callback",
	"sessmgr_set_event_handler": "takes a C callback, called on library threads",
}

// Every function of sessmgr.h is called by the module, or listed above.
func TestEveryHeaderFunctionIsBoundOrListed(t *testing.T) {
	text := headerText(t)
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^[\w ]+?\s*\*?\s*(sessmgr_\w+)\(`).FindAllStringSubmatch(string(text), -1) {
		declared[m[1]] = true
	}
	called := map[string]bool{}
	sources, err := filepath.Glob("*.go")
	must(t, err)
	for _, source := range sources {
		if strings.HasSuffix(source, "_test.go") {
			continue
		}
		code, err := os.ReadFile(source)
		must(t, err)
		for _, m := range regexp.MustCompile(`C\.(sessmgr_\w+)\(`).FindAllStringSubmatch(string(code), -1) {
			called[m[1]] = true
		}
	}
	if len(declared) < 50 {
		t.Fatalf("the header was not read: %d functions", len(declared))
	}
	for name := range declared {
		_, listed := notBound[name]
		if called[name] == listed {
			t.Errorf("%s: called %v, listed as not bound %v", name, called[name], listed)
		}
	}
	for name := range called {
		if !declared[name] {
			t.Errorf("%s is called but not in sessmgr.h", name)
		}
	}
}
