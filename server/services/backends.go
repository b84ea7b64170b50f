package services

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/backends"
	"github.com/dstackgo/dstack/db"
	"github.com/dstackgo/dstack/server/schemas"
)

// Backends manages the cloud backends of projects (upstream's backends API).
type Backends struct{ *Env }

// ListTypes are the backend types this server can configure.
func (s Backends) ListTypes() []string {
	out := s.Clouds.Registry().Types()
	if out == nil {
		out = []string{}
	}
	return out
}

// configurator finds the configurator of a configuration's type.
func (s Backends) configurator(raw json.RawMessage) (backends.Configurator, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.Type == "" {
		return nil, InvalidField("type", "The backend configuration has no type (accepted: %s)", strings.Join(s.ListTypes(), ", "))
	}
	c, ok := s.Clouds.Registry().Get(head.Type)
	if !ok {
		return nil, &Error{Kind: KindBackendNotAvailable, Msg: fmt.Sprintf("Backend %s not available. Available backends: %s.",
			head.Type, strings.Join(s.ListTypes(), ", ")), Fields: []string{"type"}}
	}
	return c, nil
}

// configError turns a configurator's refusal into a client error.
func configError(err error) error {
	var ce *backends.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	e := &Error{Kind: KindInvalid, Msg: ce.Msg}
	if ce.Credentials {
		e.Kind = KindInvalidCredentials
	}
	if len(ce.Path) > 0 {
		e.Fields = []string{strings.Join(ce.Path, ".")}
		if !ce.Credentials {
			e.Msg = strings.Join(ce.Path, ".") + ": " + ce.Msg
		}
	}
	return e
}

// Create configures a backend of the project; it must not have one of the type.
func (s Backends) Create(ctx context.Context, p *db.Project, raw json.RawMessage) (json.RawMessage, error) {
	return s.put(ctx, p, raw, false)
}

// Update replaces the project's backend of the configuration's type.
func (s Backends) Update(ctx context.Context, p *db.Project, raw json.RawMessage) (json.RawMessage, error) {
	return s.put(ctx, p, raw, true)
}

func (s Backends) put(ctx context.Context, p *db.Project, raw json.RawMessage, update bool) (json.RawMessage, error) {
	conf, err := s.configurator(raw)
	if err != nil {
		return nil, err
	}
	cur, err := db.GetBackend(ctx, s.DB, p.ID, conf.Type())
	switch {
	case err == nil && !update:
		return nil, Exists("Backend %s already exists in project %s", conf.Type(), p.Name)
	case errors.Is(err, db.ErrNotFound) && update:
		return nil, NotFound("Backend %s does not exist in project %s", conf.Type(), p.Name)
	case err != nil && !errors.Is(err, db.ErrNotFound):
		return nil, err
	}
	rec, err := conf.Check(ctx, raw)
	if err != nil {
		return nil, configError(err)
	}
	row := &db.Backend{ID: uuid.NewString(), ProjectID: p.ID, Type: conf.Type()}
	if update {
		row = cur
	}
	if err := s.seal(row, rec, raw); err != nil {
		return nil, err
	}
	if update {
		err = db.UpdateBackend(ctx, s.DB, row)
	} else {
		err = db.InsertBackend(ctx, s.DB, row)
	}
	if errors.Is(err, db.ErrConflict) {
		return nil, Exists("Backend %s already exists in project %s", conf.Type(), p.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("store backend %s of %s: %w", conf.Type(), p.Name, err)
	}
	s.Log.Info("backend configured", "project", p.Name, "backend", conf.Type(), "update", update)
	return conf.Show(rec, true)
}

// seal fills a row from a checked record and the configuration as given
// (source): credentials sealed, the rest as JSON.
func (s Backends) seal(row *db.Backend, rec *backends.Record, source json.RawMessage) error {
	auth, err := db.Seal(s.Sealer, db.BackendsAuth, row.ID, string(rec.Auth))
	if err != nil {
		return err
	}
	row.Config, row.Auth = string(rec.Config), auth
	var src map[string]json.RawMessage
	if err := json.Unmarshal(source, &src); err != nil {
		return InvalidField("type", "The backend configuration is not a JSON object")
	}
	creds := src["creds"]
	delete(src, "creds")
	conf, _ := json.Marshal(src)
	row.SourceConfig = ptr(string(conf))
	row.SourceAuth = nil
	if creds != nil {
		sa, err := db.Seal(s.Sealer, db.BackendsSourceAuth, row.ID, string(creds))
		if err != nil {
			return err
		}
		row.SourceAuth = &sa
	}
	return nil
}

// record opens a stored backend's sealed credentials.
func (s Backends) record(row *db.Backend) (*backends.Record, error) {
	auth, err := db.Unseal(s.Sealer, db.BackendsAuth, row.ID, row.Auth)
	if err != nil {
		return nil, err
	}
	return &backends.Record{Type: row.Type, Config: json.RawMessage(row.Config), Auth: json.RawMessage(auth)}, nil
}

// source is the configuration a backend was last given (with credentials),
// canonical JSON; "" when it cannot be read.
func (s Backends) source(row *db.Backend) string {
	if row.SourceConfig == nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal([]byte(*row.SourceConfig), &m) != nil {
		return ""
	}
	if row.SourceAuth != nil {
		plain, err := db.Unseal(s.Sealer, db.BackendsSourceAuth, row.ID, *row.SourceAuth)
		if err != nil {
			return ""
		}
		var creds any
		if json.Unmarshal([]byte(plain), &creds) != nil {
			return ""
		}
		m["creds"] = creds
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// ConfigInfo is the project's backend of a type with its credentials.
func (s Backends) ConfigInfo(ctx context.Context, p *db.Project, typ string) (json.RawMessage, error) {
	row, conf, err := s.stored(ctx, p, typ)
	if err != nil {
		return nil, err
	}
	rec, err := s.record(row)
	if err != nil {
		return nil, err
	}
	return conf.Show(rec, true)
}

func (s Backends) stored(ctx context.Context, p *db.Project, typ string) (*db.Backend, backends.Configurator, error) {
	conf, ok := s.Clouds.Registry().Get(typ)
	if !ok {
		return nil, nil, &Error{Kind: KindBackendNotAvailable, Msg: "Backend " + typ + " not available"}
	}
	row, err := db.GetBackend(ctx, s.DB, p.ID, typ)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil, NotFound("Backend %s does not exist in project %s", typ, p.Name)
	}
	return row, conf, err
}

// List is every backend of the project, without credentials.
func (s Backends) List(ctx context.Context, p *db.Project) ([]schemas.BackendInfo, error) {
	rows, err := db.ListBackends(ctx, s.DB, p.ID)
	if err != nil {
		return nil, err
	}
	out := []schemas.BackendInfo{}
	for i := range rows {
		conf, ok := s.Clouds.Registry().Get(rows[i].Type)
		if !ok {
			continue
		}
		shown, err := conf.Show(&backends.Record{Type: rows[i].Type, Config: json.RawMessage(rows[i].Config)}, false)
		if err != nil {
			return nil, err
		}
		out = append(out, schemas.BackendInfo{Name: rows[i].Type, Config: shown})
	}
	return out, nil
}

// Delete removes backends of the project; one with active instances is
// refused (they would be left running with nobody to terminate them).
func (s Backends) Delete(ctx context.Context, p *db.Project, types []string) error {
	if err := s.checkUnused(ctx, p, types); err != nil {
		return err
	}
	return s.delete(ctx, p, types)
}

func (s Backends) delete(ctx context.Context, p *db.Project, types []string) error {
	n, err := db.DeleteBackends(ctx, s.DB, p.ID, types)
	if err != nil {
		return err
	}
	if n > 0 {
		s.Log.Info("backends deleted", "project", p.Name, "backends", types)
	}
	return nil
}

func (s Backends) checkUnused(ctx context.Context, p *db.Project, types []string) error {
	var n int
	var backend string
	err := s.DB.NewSelect().Model((*db.Instance)(nil)).ColumnExpr("count(*)").ColumnExpr("min(backend)").
		Where("project_id = ?", p.ID).Where("deleted = ?", false).
		Where("status NOT IN (?)", bun.In([]string{string(schemas.InstanceTerminated)})).
		Where("backend IN (?)", bun.In(types)).Scan(ctx, &n, &backend)
	if err != nil {
		return err
	}
	if n > 0 {
		return Invalid("Backend %s has active instances. Delete instances before deleting the backend.", backend)
	}
	return nil
}

// CreateYAML and UpdateYAML take the configuration as YAML.
func (s Backends) CreateYAML(ctx context.Context, p *db.Project, text string) error {
	raw, err := yamlToJSON(text)
	if err != nil {
		return err
	}
	_, err = s.Create(ctx, p, raw)
	return err
}

// UpdateYAML is Update with a YAML configuration.
func (s Backends) UpdateYAML(ctx context.Context, p *db.Project, text string) error {
	raw, err := yamlToJSON(text)
	if err != nil {
		return err
	}
	_, err = s.Update(ctx, p, raw)
	return err
}

// GetYAML is the backend's configuration with credentials as YAML.
func (s Backends) GetYAML(ctx context.Context, p *db.Project, typ string) (*schemas.BackendInfoYAML, error) {
	raw, err := s.ConfigInfo(ctx, p, typ)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(dropNulls(v)); err != nil {
		return nil, err
	}
	return &schemas.BackendInfoYAML{Name: typ, ConfigYAML: buf.String()}, nil
}

// yamlToJSON reads a YAML configuration as JSON.
func yamlToJSON(text string) (json.RawMessage, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, InvalidField("config_yaml", "Error parsing YAML: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, InvalidField("config_yaml", "The YAML is not a backend configuration: %v", err)
	}
	return b, nil
}

// dropNulls removes null members (upstream writes YAML without them).
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropNulls(x[i])
		}
	}
	return v
}

// ConfigBackend is one backend of a project in config.yml.
type ConfigBackend struct {
	Type string
	JSON json.RawMessage
}

// ConfigBackendError is a config.yml backend the server refused.
type ConfigBackendError struct {
	Index int // in the project's backends
	Path  []string
	Err   error
}

func (e *ConfigBackendError) Error() string { return e.Err.Error() }

// ApplyConfig makes the project's backends those of config.yml: a listed
// backend whose configuration changed since it was last applied is checked
// against its cloud and stored; backends not listed are deleted (with a
// warning when they still have instances, as upstream does).
func (s Backends) ApplyConfig(ctx context.Context, p *db.Project, list []ConfigBackend) error {
	listed := map[string]bool{}
	for i, b := range list {
		listed[b.Type] = true
		row, err := db.GetBackend(ctx, s.DB, p.ID, b.Type)
		exists := err == nil
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if exists && canonical(b.JSON) == s.source(row) {
			continue
		}
		conf, err := s.configurator(b.JSON)
		if err != nil {
			return &ConfigBackendError{Index: i, Path: []string{"type"}, Err: err}
		}
		rec, err := conf.Check(ctx, b.JSON)
		if err != nil {
			var ce *backends.ConfigError
			if errors.As(err, &ce) {
				return &ConfigBackendError{Index: i, Path: ce.Path, Err: errors.New(ce.Msg)}
			}
			return &ConfigBackendError{Index: i, Err: err}
		}
		if !exists {
			row = &db.Backend{ID: uuid.NewString(), ProjectID: p.ID, Type: b.Type}
		}
		if err := s.seal(row, rec, b.JSON); err != nil {
			return err
		}
		if exists {
			err = db.UpdateBackend(ctx, s.DB, row)
		} else {
			err = db.InsertBackend(ctx, s.DB, row)
		}
		if err != nil {
			return fmt.Errorf("store backend %s of %s: %w", b.Type, p.Name, err)
		}
		s.Log.Info("backend configured from config.yml", "project", p.Name, "backend", b.Type)
	}
	var gone []string
	for _, t := range s.ListTypes() {
		if !listed[t] {
			gone = append(gone, t)
		}
	}
	if err := s.checkUnused(ctx, p, gone); err != nil {
		s.Log.Warn("a backend removed from config.yml still has instances; they may be left running", "project", p.Name, "err", err)
	}
	return s.delete(ctx, p, gone)
}

// canonical is JSON with sorted keys, for comparing configurations.
func canonical(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
