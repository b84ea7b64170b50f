package schemas

// DeleteBackendsRequest is the body of backends/delete.
type DeleteBackendsRequest struct {
	BackendsNames []string `json:"backends_names"`
}

// BackendYAMLRequest is the body of backends/create_yaml and update_yaml.
type BackendYAMLRequest struct {
	ConfigYAML string `json:"config_yaml"`
}

// BackendInfoYAML is the answer of backends/{name}/get_yaml.
type BackendInfoYAML struct {
	Name       string `json:"name"`
	ConfigYAML string `json:"config_yaml"`
}
