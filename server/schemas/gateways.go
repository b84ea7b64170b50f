package schemas

import (
	"encoding/json"
	"time"
)

// GatewayStatus is a gateway's lifecycle state (upstream wire values).
type GatewayStatus string

// Gateway statuses: submitted → provisioning → running, or failed.
const (
	GatewaySubmitted    GatewayStatus = "submitted"
	GatewayProvisioning GatewayStatus = "provisioning"
	GatewayRunning      GatewayStatus = "running"
	GatewayFailed       GatewayStatus = "failed"
)

// Gateway is a gateway as the API shows it. Configuration is the gateway
// configuration as stored. Backend, Region, IPAddress and InstanceID are
// the deprecated fields upstream keeps for older clients, always null.
type Gateway struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	ProjectName    string           `json:"project_name"`
	Configuration  json.RawMessage  `json:"configuration"`
	CreatedAt      time.Time        `json:"created_at"`
	Status         GatewayStatus    `json:"status"`
	StatusMessage  *string          `json:"status_message"`
	Hostname       *string          `json:"hostname"`
	WildcardDomain *string          `json:"wildcard_domain"`
	Default        bool             `json:"default"`
	Replicas       []GatewayReplica `json:"replicas"`
	Backend        *string          `json:"backend"`
	Region         *string          `json:"region"`
	IPAddress      *string          `json:"ip_address"`
	InstanceID     *string          `json:"instance_id"`
}

// GatewayReplica is one gateway instance.
type GatewayReplica struct {
	Hostname      *string   `json:"hostname"`
	ReplicaNum    int       `json:"replica_num"`
	Backend       *string   `json:"backend"`
	Region        *string   `json:"region"`
	CreatedAt     time.Time `json:"created_at"`
	Status        string    `json:"status"`
	StatusMessage *string   `json:"status_message"`
}

// ListGatewaysRequest is the optional body of gateways/list.
type ListGatewaysRequest struct {
	IncludeImported bool `json:"include_imported"`
}

// GetGatewayRequest names a gateway.
type GetGatewayRequest struct {
	Name string `json:"name"`
}

// CreateGatewayRequest is the body of gateways/create.
type CreateGatewayRequest struct {
	Configuration json.RawMessage `json:"configuration"`
}

// GatewaySpec is a gateway configuration with the path it was read from.
type GatewaySpec struct {
	Configuration     json.RawMessage `json:"configuration"`
	ConfigurationPath *string         `json:"configuration_path"`
}

// GetGatewayPlanRequest is the body of gateways/get_plan.
type GetGatewayPlanRequest struct {
	Spec GatewaySpec `json:"spec"`
}

// ApplyGatewayPlanRequest is the body of gateways/apply.
type ApplyGatewayPlanRequest struct {
	Plan struct {
		Spec GatewaySpec `json:"spec"`
	} `json:"plan"`
	Force bool `json:"force"`
}

// DeleteGatewaysRequest names gateways to delete.
type DeleteGatewaysRequest struct {
	Names []string `json:"names"`
}

// SetDefaultGatewayRequest is the body of gateways/set_default.
type SetDefaultGatewayRequest struct {
	Name           string  `json:"name"`
	GatewayProject *string `json:"gateway_project"`
}

// SetWildcardDomainRequest is the body of gateways/set_wildcard_domain.
type SetWildcardDomainRequest struct {
	Name           string `json:"name"`
	WildcardDomain string `json:"wildcard_domain"`
}
