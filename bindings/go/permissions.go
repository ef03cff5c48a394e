package sessmgr

// #include <stdlib.h>
// #include <sessmgr.h>
import "C"

// PermissionExplanation is why HasPermission answers as it does
// (sessmgr_permissions_explain).
type PermissionExplanation struct {
	Allowed             bool              `json:"allowed"`
	Resource            string            `json:"resource"`
	Type                string            `json:"type"`
	Action              string            `json:"action"`
	RestrictedByDefault bool              `json:"restrictedByDefault"`
	Reason              string            `json:"reason"`
	SessionType         string            `json:"sessionType"`
	Checks              []PermissionCheck `json:"checks"`
}

// PermissionCheck is one action weighed: the one asked, or one that grants it.
type PermissionCheck struct {
	Action   string                  `json:"action"`
	Set      bool                    `json:"set"`
	Met      bool                    `json:"met"`
	Grants   string                  `json:"grants"`
	Requires []PermissionRequirement `json:"requires"`
}

// PermissionRequirement is one list of privileges of the roles file that a check requires.
type PermissionRequirement struct {
	ApplyTo    string `json:"applyTo"`
	Type       string `json:"type"`
	Entry      string `json:"entry"`
	Level      string `json:"level"`
	Met        bool   `json:"met"`
	Privileges []struct {
		Name    string   `json:"name"`
		Held    bool     `json:"held"`
		Through []string `json:"through"`
	} `json:"privileges"`
}

// HasPermission is 4D's permission check from roles.json: may the session do action
// ("read", "execute", ...) on resource ("ds", "City", "City.name", "City.getPopulation", ...)?
// Always true for remote and stored-procedure sessions.
func (s *Session) HasPermission(resource, action string) (bool, error) {
	var result C.bool
	err := s.withTwo(resource, "resource", action, "action", func(id, r, a *C.char) C.sessmgr_status {
		return C.sessmgr_session_has_permission(id, r, a, &result)
	})
	return bool(result), err
}

// ExplainPermission says why HasPermission answers as it does: which entry of the roles file,
// at which level, through which privilege or role.
func (s *Session) ExplainPermission(resource, action string) (PermissionExplanation, error) {
	var why PermissionExplanation
	r, err := cText(resource, "resource")
	if err != nil {
		return why, err
	}
	defer free(r)
	a, err := cText(action, "action")
	if err != nil {
		return why, err
	}
	defer free(a)
	err = s.jsonOf(&why, func(id *C.char, out **C.char) C.sessmgr_status {
		return C.sessmgr_permissions_explain(id, r, a, out)
	})
	return why, err
}

// withTwo runs a call taking the ID and two more strings.
func (s *Session) withTwo(first, firstWhat, second, secondWhat string, f func(id, a, b *C.char) C.sessmgr_status) error {
	b, err := cText(second, secondWhat)
	if err != nil {
		return err
	}
	defer free(b)
	return s.withText(first, firstWhat, func(id, a *C.char) C.sessmgr_status { return f(id, a, b) })
}
