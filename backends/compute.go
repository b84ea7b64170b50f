package backends

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dstackgo/dstack/server/schemas"
)

// Compute is a configured backend of one project.
type Compute interface {
	// Type is the backend type ("aws").
	Type() string
	// Offers are the instance types the backend can launch now, with
	// prices, and the disk sizes it can give them. They are shared: callers
	// must not modify them.
	Offers(ctx context.Context) (*Offers, error)
	// Create launches one instance from offer. The provisioning data it
	// returns identifies the instance (id, region, zone, user) before it has
	// an address.
	Create(ctx context.Context, offer schemas.InstanceOffer, cfg InstanceConfig) (*schemas.JobProvisioningData, error)
	// Describe says where a launched instance is.
	Describe(ctx context.Context, jpd *schemas.JobProvisioningData) (InstanceState, error)
	// Terminate ends the instance; one already gone is not an error.
	Terminate(ctx context.Context, jpd *schemas.JobProvisioningData) error
	// Tagged lists the live instances the backend runs for these projects
	// (by the TagProjectID tag), for adoption and orphan sweeps.
	Tagged(ctx context.Context, projectIDs []string) ([]Tagged, error)
}

// Offers is a backend's catalog as the account can use it.
type Offers struct {
	// Version names the catalog and availability data the offers come from.
	Version string
	Offers  []schemas.InstanceOffer
	// DiskMinGB and DiskMaxGB bound the disk an instance can be created
	// with when the catalog leaves it open (0: no maximum).
	DiskMinGB, DiskMaxGB float64
}

// Reserver is implemented by backends with capacity reservations (AWS).
// Runs and fleets with `reservation:` get offers only from such backends.
type Reserver interface {
	// Reservations finds the reservation in each of the backend's regions
	// where it is active with room for one more instance; regions where it
	// does not exist are left out.
	Reservations(ctx context.Context, id string) ([]Reservation, error)
}

// Reservation is a capacity reservation in one region.
type Reservation struct {
	ID, Region, InstanceType, Zone string
	// Tenancy is the instances' tenancy the reservation takes ("default",
	// "dedicated").
	Tenancy string
	// CapacityBlock is true for capacity blocks (launched as their own
	// market type).
	CapacityBlock bool
}

// InstanceConfig is what a launch needs besides the offer.
type InstanceConfig struct {
	ProjectID   string
	ProjectName string
	// InstanceID is the server's id of the instance row; it is tagged, and
	// used as the launch's idempotency token.
	InstanceID   string
	InstanceName string
	User         string
	// UserData is the cloud-config that starts the agent.
	UserData string
	// Tags are the fleet's tags (backend tags and the server's own are added).
	Tags        map[string]string
	Reservation *string
	// PlacementGroup, when set, is the cluster placement group the instance
	// goes into (backends that are PlacementGroupers create it on first use).
	PlacementGroup string
}

// PlacementGrouper is implemented by backends that place the instances of
// a cluster fleet close together (AWS cluster placement groups).
type PlacementGrouper interface {
	// DeletePlacementGroup removes the group from the region; one that is
	// already gone is not an error, one still used by instances is
	// ErrPlacementGroupInUse.
	DeletePlacementGroup(ctx context.Context, name, region string) error
}

// ErrPlacementGroupInUse: instances still use the placement group (they are
// shutting down); try again later.
var ErrPlacementGroupInUse = errors.New("the placement group is still in use")

// Tags the server puts on every instance it launches.
const (
	TagOwner      = "owner" // "dstack"
	TagProject    = "dstack_project"
	TagProjectID  = "dstack_project_id"
	TagInstanceID = "dstack_instance_id"
	TagName       = "dstack_name"
	TagUser       = "dstack_user"
)

// State is a launched instance's lifecycle as the server needs it.
type State string

// States of a launched instance.
const (
	StatePending State = "pending" // being started: no address yet
	StateRunning State = "running"
	StateGone    State = "gone" // stopping, stopped, terminated or unknown to the cloud
)

// InstanceState is what Describe reports.
type InstanceState struct {
	State State
	// Detail is the cloud's own state name ("shutting-down").
	Detail     string
	PublicIP   string
	PrivateIP  string
	Zone       string
	InstanceID string
}

// Tagged is a live instance found by its tags.
type Tagged struct {
	InstanceID string
	Region     string
	// ServerInstanceID is the TagInstanceID tag: the instance row it was
	// launched for.
	ServerInstanceID string
	ProjectID        string
	State            string
}

// Launch failures. A failed Create is wrapped as a *LaunchError whose
// Reason is one of these (errors.Is works on it); the pipeline moves on to
// the next offer in every case, and reports the message.
var (
	ErrNoCapacity = errors.New("no capacity")
	ErrQuota      = errors.New("quota exceeded")
	ErrInvalid    = errors.New("invalid request")
	ErrOther      = errors.New("launch failed")
)

// LaunchError is a failed launch: Reason classifies it, Msg is the cloud's
// own code and message.
type LaunchError struct {
	Reason error
	Msg    string
}

func (e *LaunchError) Error() string { return e.Msg }

// Unwrap lets errors.Is test the reason.
func (e *LaunchError) Unwrap() error { return e.Reason }

// ConfigError is a configuration a Configurator refuses: Path is the
// offending field ("creds", "access_key"; "regions", "2"), Msg why.
type ConfigError struct {
	Path []string
	Msg  string
	// Credentials is true when the credentials are what is wrong
	// (upstream's invalid_credentials error code).
	Credentials bool
}

func (e *ConfigError) Error() string {
	if len(e.Path) == 0 {
		return e.Msg
	}
	return strings.Join(e.Path, ".") + ": " + e.Msg
}

// Configf is a ConfigError at path.
func Configf(path []string, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Record is a backend as it is stored: Config without credentials, Auth the
// credentials (sealed at rest by the caller). Both are JSON.
type Record struct {
	Type   string
	Config json.RawMessage
	Auth   json.RawMessage
}

// Configurator checks and opens the backends of one type.
type Configurator interface {
	Type() string
	// Check decodes a configuration with credentials (upstream's
	// `<Type>BackendConfigWithCreds` JSON), checks it against the cloud
	// (credentials, regions, networks) and returns what to store, with the
	// defaults filled in. Refusals are *ConfigError values.
	Check(ctx context.Context, raw json.RawMessage) (*Record, error)
	// Show renders a stored backend as its API configuration, with or
	// without credentials.
	Show(rec *Record, withCreds bool) (json.RawMessage, error)
	// Open makes the compute of a stored backend.
	Open(rec *Record) (Compute, error)
}

// Registry is the set of backend types this server can configure.
type Registry struct {
	byType map[string]Configurator
	order  []string
}

// NewRegistry registers configurators.
func NewRegistry(cs ...Configurator) *Registry {
	r := &Registry{byType: map[string]Configurator{}}
	for _, c := range cs {
		r.byType[c.Type()] = c
		r.order = append(r.order, c.Type())
	}
	return r
}

// Get returns the configurator of a type.
func (r *Registry) Get(typ string) (Configurator, bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.byType[typ]
	return c, ok
}

// Types lists the registered types in registration order.
func (r *Registry) Types() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.order...)
}
