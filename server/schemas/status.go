package schemas

import "time"

// The server status route is this server's own (admins only): what the
// console's Server page shows.

// PipelineStatus is one background pipeline's backlog.
type PipelineStatus struct {
	Name string `json:"name"`
	// Backlog counts rows waiting for this pipeline.
	Backlog int `json:"backlog"`
	// LagSeconds is how long the oldest waiting row has waited.
	LagSeconds float64 `json:"lag_seconds"`
}

// ServerStatus describes a running server.
type ServerStatus struct {
	Version           string           `json:"version"`
	CompatibleVersion string           `json:"compatible_version"`
	Database          string           `json:"database"`
	LogStorage        string           `json:"log_storage"`
	StartedAt         time.Time        `json:"started_at"`
	UptimeSeconds     float64          `json:"uptime_seconds"`
	Pipelines         []PipelineStatus `json:"pipelines"`
	// Replication is the SQLite database's Litestream replica, when one is
	// configured.
	Replication *ReplicationStatus `json:"replication,omitempty"`
}

// ReplicationStatus is the state of the database's replica.
type ReplicationStatus struct {
	URL         string  `json:"url"`
	LocalTXID   uint64  `json:"local_txid"`
	ReplicaTXID uint64  `json:"replica_txid"`
	LagSeconds  float64 `json:"lag_seconds"`
	Restored    bool    `json:"restored"`
	Error       string  `json:"error,omitempty"`
}
