package schemas

import "time"

// FleetStatus is a fleet's lifecycle state: active until deleted, then
// terminating until every instance is gone, then terminated.
type FleetStatus string

// Fleet statuses (upstream wire values).
const (
	FleetSubmitted   FleetStatus = "submitted"
	FleetActive      FleetStatus = "active"
	FleetTerminating FleetStatus = "terminating"
	FleetTerminated  FleetStatus = "terminated"
	FleetFailed      FleetStatus = "failed"
)

// FleetSpec is what a fleet is asked to be.
type FleetSpec struct {
	Configuration     FleetConfiguration `json:"configuration"`
	ConfigurationPath *string            `json:"configuration_path"`
	Profile           Profile            `json:"profile"`
}

// Fleet is a fleet as the API shows it; SSH private keys are stripped.
type Fleet struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	ProjectName   string      `json:"project_name"`
	Spec          FleetSpec   `json:"spec"`
	CreatedAt     time.Time   `json:"created_at"`
	Status        FleetStatus `json:"status"`
	StatusMessage *string     `json:"status_message"`
	Instances     []Instance  `json:"instances"`
}

// FleetPlan is the answer of fleets/get_plan.
type FleetPlan struct {
	ProjectName     string          `json:"project_name"`
	User            string          `json:"user"`
	Spec            FleetSpec       `json:"spec"`
	EffectiveSpec   *FleetSpec      `json:"effective_spec"`
	CurrentResource *Fleet          `json:"current_resource"`
	Offers          []InstanceOffer `json:"offers"`
	TotalOffers     int             `json:"total_offers"`
	MaxOfferPrice   *float64        `json:"max_offer_price"`
	Action          string          `json:"action"`
}

// GetFleetPlanRequest is the body of fleets/get_plan.
type GetFleetPlanRequest struct {
	Spec FleetSpec `json:"spec"`
}

// ApplyFleetPlanInput is the plan a client applies.
type ApplyFleetPlanInput struct {
	Spec            FleetSpec `json:"spec"`
	CurrentResource *Fleet    `json:"current_resource"`
}

// ApplyFleetPlanRequest is the body of fleets/apply.
type ApplyFleetPlanRequest struct {
	Plan  ApplyFleetPlanInput `json:"plan"`
	Force bool                `json:"force"`
}

// GetFleetRequest names a fleet by name or id.
type GetFleetRequest struct {
	Name *string `json:"name"`
	ID   *string `json:"id"`
}

// DeleteFleetsRequest names fleets to delete.
type DeleteFleetsRequest struct {
	Names []string `json:"names"`
}

// DeleteFleetInstancesRequest names instances of one fleet to delete.
type DeleteFleetInstancesRequest struct {
	Name         string `json:"name"`
	InstanceNums []int  `json:"instance_nums"`
}

// ListFleetsRequest is the body of the global fleets/list.
type ListFleetsRequest struct {
	ProjectName     *string    `json:"project_name"`
	OnlyActive      bool       `json:"only_active"`
	IncludeImported bool       `json:"include_imported"`
	PrevCreatedAt   *time.Time `json:"prev_created_at"`
	PrevID          *string    `json:"prev_id"`
	Limit           *int       `json:"limit"`
	Ascending       bool       `json:"ascending"`
}

// ListProjectFleetsRequest is the optional body of a project's fleets/list.
type ListProjectFleetsRequest struct {
	IncludeImported bool `json:"include_imported"`
}
