package sessmgr_test

import (
	"fmt"

	sessmgr "github.com/sessmgr/sessmgr/bindings/go"
)

// The Go quick start of docs/go.md: go test runs it and checks what it prints.
func Example() {
	web, err := sessmgr.CreateSession(sessmgr.Options{IPAddress: "192.0.2.7"}) // a web guest
	if err != nil {
		panic(err)
	}
	defer web.Close()
	// The login: a grant and a new ID in one step (set the new ID as the cookie).
	if _, err := web.RotateID(&sessmgr.Grant{Privileges: []string{"WebAdmin"}, UserName: "ann"}); err != nil {
		panic(err)
	}
	visits, _ := web.Storage().Increment("/visits", 1) // atomic, no callback
	admin, _ := web.HasPrivilege("WebAdmin")
	fmt.Printf("admin=%v visits=%d\n", admin, visits)
	// Output: admin=true visits=1
}
