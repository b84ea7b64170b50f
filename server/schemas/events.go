package schemas

import "time"

// Event target types (upstream's EventTargetType).
const (
	EventTargetProject  = "project"
	EventTargetUser     = "user"
	EventTargetFleet    = "fleet"
	EventTargetInstance = "instance"
	EventTargetRun      = "run"
	EventTargetJob      = "job"
	EventTargetVolume   = "volume"
	EventTargetGateway  = "gateway"
	EventTargetSecret   = "secret"
)

// EventTargetTypes lists the target types in upstream's order.
var EventTargetTypes = []string{EventTargetProject, EventTargetUser, EventTargetFleet, EventTargetInstance,
	EventTargetRun, EventTargetJob, EventTargetVolume, EventTargetGateway, EventTargetSecret}

// Event is something that happened to one or more entities; ActorUserID and
// ActorUser are null when the server itself did it.
type Event struct {
	ID                 string        `json:"id"`
	Message            string        `json:"message"`
	RecordedAt         time.Time     `json:"recorded_at"`
	ActorUserID        *string       `json:"actor_user_id"`
	ActorUser          *string       `json:"actor_user"`
	IsActorUserDeleted *bool         `json:"is_actor_user_deleted"`
	Targets            []EventTarget `json:"targets"`
}

// EventTarget is an entity an event is about; the project fields are null
// for users.
type EventTarget struct {
	Type             string  `json:"type"`
	ProjectID        *string `json:"project_id"`
	ProjectName      *string `json:"project_name"`
	IsProjectDeleted *bool   `json:"is_project_deleted"`
	ID               string  `json:"id"`
	Name             string  `json:"name"`
}

// ListEventsRequest is the body of /api/events/list. At most one target_*
// and one within_* filter may be set; each list holds 1 to 16 items. An
// actors entry of null stands for the server itself.
type ListEventsRequest struct {
	TargetProjects     []string   `json:"target_projects"`
	TargetUsers        []string   `json:"target_users"`
	TargetFleets       []string   `json:"target_fleets"`
	TargetInstances    []string   `json:"target_instances"`
	TargetRuns         []string   `json:"target_runs"`
	TargetJobs         []string   `json:"target_jobs"`
	TargetVolumes      []string   `json:"target_volumes"`
	TargetGateways     []string   `json:"target_gateways"`
	TargetSecrets      []string   `json:"target_secrets"`
	WithinProjects     []string   `json:"within_projects"`
	WithinFleets       []string   `json:"within_fleets"`
	WithinRuns         []string   `json:"within_runs"`
	IncludeTargetTypes []string   `json:"include_target_types"`
	Actors             []*string  `json:"actors"`
	PrevRecordedAt     *time.Time `json:"prev_recorded_at"`
	PrevID             *string    `json:"prev_id"`
	Limit              *int       `json:"limit"`
	Ascending          bool       `json:"ascending"`
}
