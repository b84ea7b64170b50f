package schemas

// ServiceStats is a live service run's traffic as this server's proxy
// counts it, with the replica count it is scaled to. This server's own
// answer (POST /api/project/<p>/services/stats); upstream has no such route.
type ServiceStats struct {
	RunName string `json:"run_name"`
	// DesiredReplicas is the count the service is scaled to (null until the
	// runs pipeline first scaled it).
	DesiredReplicas *int `json:"desired_replicas"`
	// RPS30, RPS60 and RPS300 are the requests per second over the last 30,
	// 60 and 300 seconds.
	RPS30  float64 `json:"rps_30s"`
	RPS60  float64 `json:"rps_60s"`
	RPS300 float64 `json:"rps_300s"`
}
