package schemas

// Secret is a project secret; Value is null in listings.
type Secret struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// GetSecretRequest names a secret.
type GetSecretRequest struct {
	Name string `json:"name"`
}

// CreateOrUpdateSecretRequest sets a secret's value.
type CreateOrUpdateSecretRequest struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DeleteSecretsRequest names secrets to delete.
type DeleteSecretsRequest struct {
	SecretsNames []string `json:"secrets_names"`
}
