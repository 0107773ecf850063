package incident

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// Permissions the Service checks, in addition to the lifecycle's roles.
const (
	// PermSetPriority allows fixing an incident's priority by hand instead
	// of deriving it from impact and urgency.
	PermSetPriority itsm.Permission = "incident.set-priority"
	// PermFlagMajor allows flagging or unflagging a major incident.
	PermFlagMajor itsm.Permission = "incident.flag-major"
	// PermMajorIncident allows resolving, closing and canceling a major
	// incident; without it a parent's resolution leaves major children
	// open.
	PermMajorIncident itsm.Permission = "incident.major"
)

// Roles the default permissions grant.
const (
	RoleIncidentManager      itsm.Role = "incident-manager"
	RoleMajorIncidentManager itsm.Role = "major-incident-manager"
)

// DefaultPermissions grants PermSetPriority to incident managers and major
// incident managers, and PermFlagMajor and PermMajorIncident to major
// incident managers only.
// Every other operation is open to every actor unless the lifecycle
// restricts it.
func DefaultPermissions() itsm.Permissions {
	return itsm.NewPermissions(map[itsm.Permission][]itsm.Role{
		PermSetPriority:   {RoleIncidentManager, RoleMajorIncidentManager},
		PermFlagMajor:     {RoleMajorIncidentManager},
		PermMajorIncident: {RoleMajorIncidentManager},
	})
}

// PolicySelector chooses the SLA policies of an incident. The catalogue
// can implement it to apply the policies of the affected service's
// offering; Policies is a fixed set.
type PolicySelector interface {
	// Select returns the policies that apply to inc, which is being
	// opened or was just edited (Service.Edit selects again when a field
	// the selection may read changes); it may return none.
	Select(ctx context.Context, inc *Incident) ([]*sla.Policy, error)
	// Policy returns the policy with id, used to retarget and reset the
	// timers of an existing incident; an unknown id is an error matching
	// itsm.ErrNotFound.
	Policy(ctx context.Context, id string) (*sla.Policy, error)
}

// Policies is a PolicySelector over a fixed list of policies. Every policy
// applies to every incident unless Applies is set and says otherwise.
type Policies struct {
	List    []*sla.Policy
	Applies func(inc *Incident, p *sla.Policy) bool
}

// Select returns the policies of the list that apply to inc.
func (p Policies) Select(_ context.Context, inc *Incident) ([]*sla.Policy, error) {
	var out []*sla.Policy
	for _, pol := range p.List {
		if p.Applies == nil || p.Applies(inc, pol) {
			out = append(out, pol)
		}
	}
	return out, nil
}

// Policy returns the policy of the list with id, or an
// *itsm.NotFoundError.
func (p Policies) Policy(_ context.Context, id string) (*sla.Policy, error) {
	for _, pol := range p.List {
		if pol.ID() == id {
			return pol, nil
		}
	}
	return nil, &itsm.NotFoundError{Kind: "sla policy", ID: id}
}

// Numbering formats the human numbers of incidents (see
// record.Numbering). The zero value in Config selects DefaultNumbering.
type Numbering = record.Numbering

// DefaultNumbering gives "INC0001001" for the first incident.
var DefaultNumbering = Numbering{Prefix: "INC", Digits: 7, Offset: 1000}

// Config configures a Service. The zero value of every field selects the
// documented default, so Config{} is a working configuration without SLAs.
type Config struct {
	// Clock tells the time; default the system clock.
	Clock itsm.Clock
	// Matrix derives priorities; default itsm.DefaultPriorityMatrix.
	Matrix *itsm.PriorityMatrix
	// Lifecycle is the transition table; default DefaultLifecycle. A
	// custom table must use the Action constants (see Action).
	Lifecycle *Lifecycle
	// Permissions guards priority overrides and the major flag; default
	// DefaultPermissions. Pass itsm.NewPermissions(nil) to allow everyone.
	Permissions itsm.Permissions
	// Policies chooses SLA policies; nil means incidents get no SLA
	// timers.
	Policies PolicySelector
	// Calendars resolves the calendars of timers read back from the
	// store. It is needed when a policy names a calendar; 24×7 policies
	// need none.
	Calendars sla.CalendarSource
	// HoldReasons lists the reasons an incident may be put on hold for;
	// default the four Awaiting* reasons.
	HoldReasons []HoldReason
	// PausingHoldReasons lists the hold reasons that pause resolution
	// timers; nil means AwaitingCaller only, an empty non-nil slice none.
	PausingHoldReasons []HoldReason
	// ResolutionCodes, when set, restricts resolution codes to these.
	ResolutionCodes []ResolutionCode
	// ReopenWindow is how long after resolution an incident may be
	// reopened; default 7 days (real time). Negative means no limit.
	ReopenWindow time.Duration
	// AutoCloseDays is after how many business days CloseResolved closes
	// a resolved incident (see sla.Calendar.AddDays); default 3. Negative
	// disables auto-close.
	AutoCloseDays int
	// AutoCloseCalendar counts AutoCloseDays; default 24×7 in UTC.
	AutoCloseCalendar *sla.Calendar
	// Numbering formats incident numbers; default DefaultNumbering, "INC"
	// and 7 digits from 1001.
	Numbering Numbering
	// Attributes declares the custom attributes of incidents; Open and
	// Edit accept them, List filters on them (see record.Attribute).
	Attributes []record.Attribute
	// CallerReplyResumes lists the hold reasons that a public comment by
	// the caller lifts: the incident resumes and its paused timers run
	// again. Nil means AwaitingCaller when it is one of HoldReasons (none
	// otherwise); an empty non-nil slice turns this off.
	CallerReplyResumes []HoldReason
	// NewID returns a new unique ID for an incident; default 16 random
	// bytes in hex.
	NewID func() string
	// Responder reports whether a public comment by actor is the
	// incident's first response, which stops its response timers. Nil
	// means DefaultResponder with GroupMember: the assignee's comment, or
	// a member's of the assignment group. A comment by the caller never
	// is; assigning and starting work always are.
	Responder func(actor itsm.Actor, inc *Incident) bool
	// GroupMember reports whether actor belongs to the assignment group
	// named group, for the default Responder. Nil means membership is not
	// known, so that only the assignee's comment responds.
	GroupMember func(actor itsm.Actor, group string) bool
	// KeepKeys is how long an idempotency key is remembered after the
	// call that first carried it (see itsm.WithIdempotencyKey); default
	// DefaultKeepKeys. A retry after that is a new call. Negative is an
	// error.
	KeepKeys time.Duration
	// Duties are segregation-of-duties rules: each refuses some lifecycle
	// actions to an actor by how the actor stands to the incident, whatever
	// the actor's roles, with an *itsm.DutyError that names the rule.
	// None by default; CallerMayNotResolve is one.
	Duties []DutyRule
	// Limits bounds the sizes of incidents: title, description, body
	// (resolution notes and cancel reason), each journal entry, journal
	// entries per incident and SLA timer events per cycle. Zero fields
	// take their defaults (record.DefaultLimits); a negative field or one
	// above its ceiling makes NewService fail. The Service checks titles,
	// descriptions and comments before it writes anything and refuses
	// them with an *itsm.LimitError; the limits are part of the schema it
	// declares, so the store refuses whatever else goes over them (a full
	// journal, a body too large) alike, and so does every other writer of
	// incidents to that store.
	Limits record.Limits
}

// DutyRule is a segregation-of-duties rule of a Service (Config.Duties).
type DutyRule struct {
	// Name names the rule in its refusals; unique within a Config.
	Name string
	// Actions are the lifecycle actions the rule applies to.
	Actions []Action
	// Refuses reports whether the rule refuses actor taking one of
	// Actions on inc, the incident as it is before the action.
	Refuses func(actor itsm.Actor, inc *Incident) bool
}

// CallerMayNotResolve is a DutyRule: the caller of an incident may not
// resolve or close it themselves, even with an agent's roles, so that
// someone else confirms that the service is restored. A parent's
// resolution leaves open a child whose caller is the actor.
var CallerMayNotResolve = DutyRule{
	Name:    "caller-may-not-resolve",
	Actions: []Action{ActResolve, ActClose},
	Refuses: func(actor itsm.Actor, inc *Incident) bool { return actor.ID != "" && actor.ID == inc.Caller.ID },
}

// duty returns the refusal of the first rule of duties that refuses actor
// taking action on inc, or nil.
func duty(duties []DutyRule, actor itsm.Actor, action Action, inc *Incident) error {
	for _, r := range duties {
		if slices.Contains(r.Actions, action) && r.Refuses(actor, inc) {
			return &itsm.DutyError{Rule: r.Name, ActorID: actor.ID, Action: string(action), Kind: Kind, ID: inc.Number}
		}
	}
	return nil
}

// DefaultResponder is the Responder of a Config that sets none, given its
// GroupMember (which may be nil): it reports whether actor is inc's
// assignee, or a member of its assignment group by member.
func DefaultResponder(member func(actor itsm.Actor, group string) bool) func(actor itsm.Actor, inc *Incident) bool {
	return func(actor itsm.Actor, inc *Incident) bool {
		return actor.ID != "" && actor.ID == inc.Assignee ||
			member != nil && inc.AssignmentGroup != "" && member(actor, inc.AssignmentGroup)
	}
}

// Defaults of Config.
const (
	DefaultReopenWindow  = 7 * 24 * time.Hour
	DefaultAutoCloseDays = 3
	// DefaultKeepKeys is the default Config.KeepKeys: a day, as the
	// common payment and ticketing APIs keep theirs.
	DefaultKeepKeys = 24 * time.Hour
)

func (c Config) withDefaults() Config {
	c.Clock = itsm.ClockOrSystem(c.Clock)
	if c.KeepKeys == 0 {
		c.KeepKeys = DefaultKeepKeys
	}
	if c.Matrix == nil {
		c.Matrix = itsm.DefaultPriorityMatrix()
	}
	if c.Lifecycle == nil {
		c.Lifecycle = DefaultLifecycle()
	}
	if c.Permissions.IsZero() {
		c.Permissions = DefaultPermissions()
	}
	if c.HoldReasons == nil {
		c.HoldReasons = []HoldReason{AwaitingCaller, AwaitingChange, AwaitingProblem, AwaitingVendor}
	} else {
		c.HoldReasons = slices.Clone(c.HoldReasons)
	}
	if c.PausingHoldReasons == nil {
		c.PausingHoldReasons = []HoldReason{AwaitingCaller}
	} else {
		c.PausingHoldReasons = slices.Clone(c.PausingHoldReasons)
	}
	c.ResolutionCodes = slices.Clone(c.ResolutionCodes)
	if c.ReopenWindow == 0 {
		c.ReopenWindow = DefaultReopenWindow
	}
	if c.AutoCloseDays == 0 {
		c.AutoCloseDays = DefaultAutoCloseDays
	}
	if c.AutoCloseCalendar == nil {
		c.AutoCloseCalendar = sla.AlwaysOpen(time.UTC)
	}
	if c.Numbering == (Numbering{}) {
		c.Numbering = DefaultNumbering
	}
	if c.CallerReplyResumes == nil {
		if slices.Contains(c.HoldReasons, AwaitingCaller) {
			c.CallerReplyResumes = []HoldReason{AwaitingCaller}
		}
	} else {
		c.CallerReplyResumes = slices.Clone(c.CallerReplyResumes)
	}
	c.Attributes = slices.Clone(c.Attributes)
	c.Duties = slices.Clone(c.Duties)
	if c.NewID == nil {
		c.NewID = randomID
	}
	if c.Responder == nil {
		c.Responder = DefaultResponder(c.GroupMember)
	}
	return c
}

func (c Config) validate() error {
	v := &itsm.ValidationError{Subject: "incident service config"}
	for i, r := range c.PausingHoldReasons {
		if !slices.Contains(c.HoldReasons, r) {
			v.Add(fmt.Sprintf("pausing_hold_reasons[%d]", i), "%q is not one of the hold reasons", r)
		}
	}
	for i, r := range c.CallerReplyResumes {
		if !slices.Contains(c.HoldReasons, r) {
			v.Add(fmt.Sprintf("caller_reply_resumes[%d]", i), "%q is not one of the hold reasons", r)
		}
	}
	for i, r := range c.HoldReasons {
		if r == "" {
			v.Add(fmt.Sprintf("hold_reasons[%d]", i), "must not be empty")
		}
	}
	if c.KeepKeys < 0 {
		v.Add("keep_keys", "must not be negative")
	}
	if c.Numbering.Digits < 0 || c.Numbering.Offset < 0 {
		v.Add("numbering", "digits and offset must not be negative")
	}
	if err := c.Limits.Validate(); err != nil {
		var le *itsm.ValidationError
		if errors.As(err, &le) {
			for _, f := range le.Fields {
				v.Add("limits."+f.Field, "%s", f.Message)
			}
		}
	}
	if c.Lifecycle.Kind() != Kind {
		v.Add("lifecycle", "is for %q records, not %q", c.Lifecycle.Kind(), Kind)
	}
	names := map[string]bool{}
	actions := c.Lifecycle.Actions()
	for i, r := range c.Duties {
		at := fmt.Sprintf("duties[%d]", i)
		switch {
		case r.Name == "":
			v.Add(at+".name", "must not be empty")
		case names[r.Name]:
			v.Add(at+".name", "%q names another rule too", r.Name)
		}
		names[r.Name] = true
		if len(r.Actions) == 0 {
			v.Add(at+".actions", "must name at least one action")
		}
		for j, a := range r.Actions {
			if !slices.Contains(actions, a) {
				v.Add(fmt.Sprintf("%s.actions[%d]", at, j), "%q is not an action of the lifecycle", a)
			}
		}
		if r.Refuses == nil {
			v.Add(at+".refuses", "must be set")
		}
	}
	return v.Err()
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
