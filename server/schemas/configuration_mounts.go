package schemas

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/dstackgo/dstack/server/schemas/decode"
)

var (
	// resourceNameRe is the rule for run, fleet, volume and gateway names.
	resourceNameRe = MustNameRule(`^[a-z][a-z0-9-]{1,40}$`)
	// groupNameRe is the rule for node group and replica group names.
	groupNameRe = MustNameRule(`^[a-z0-9][a-z0-9-]{0,39}$`)
)

// RepoSpec is a Git repo to check out into the run. Input: an object, or a shorthand
// "<local path or URL>[:<path in container>]" (Windows drive letters and scp-like
// "git@host:repo" URLs are recognised).
type RepoSpec struct {
	LocalPath *string `json:"local_path"`
	URL       *string `json:"url"`
	Branch    *string `json:"branch"`
	Hash      *string `json:"hash"`
	Path      string  `json:"path"`      // default "."
	IfExists  string  `json:"if_exists"` // "error" (default) or "skip"
}

func (r *RepoSpec) SetDefaults() { r.Path, r.IfExists = ".", "error" }

func (r *RepoSpec) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if n.Kind == decode.StringNode {
		return r.parse(n)
	}
	return d.Struct(n, r)
}

func (r *RepoSpec) parse(n *decode.Node) error {
	parts := strings.Split(n.Str, ":")
	isURL := false
	if len(parts) > 1 {
		if strings.Contains(parts[0], "@") || strings.HasPrefix(parts[1], "//") {
			parts = append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
			isURL = true
		} else if isDriveLetter(parts[0], parts[1]) {
			parts = append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
		}
	}
	if len(parts) > 2 {
		return decode.Errorf(n, "invalid repo %q; accepted: <local path or URL>[:<path in container>] or {local_path | url, branch, hash, path, if_exists}", n.Str)
	}
	src := parts[0]
	if isURL {
		r.URL = &src
	} else {
		r.LocalPath = &src
	}
	if len(parts) == 2 {
		r.Path = parts[1]
	}
	return nil
}

func isDriveLetter(first, rest string) bool {
	return len(first) == 1 && ((first[0] >= 'a' && first[0] <= 'z') || (first[0] >= 'A' && first[0] <= 'Z')) &&
		(strings.HasPrefix(rest, "\\") || strings.HasPrefix(rest, "/"))
}

func (r RepoSpec) validate() error {
	hasLocal, hasURL := r.LocalPath != nil && *r.LocalPath != "", r.URL != nil && *r.URL != ""
	switch {
	case hasLocal && hasURL:
		return fmt.Errorf("`local_path` and `url` are mutually exclusive")
	case !hasLocal && !hasURL:
		return fmt.Errorf("either `local_path` or `url` must be specified")
	case r.IfExists != "error" && r.IfExists != "skip":
		return decode.WithPath("if_exists", fmt.Errorf("invalid value %q; accepted: error, skip", r.IfExists))
	case strings.HasPrefix(r.Path, "~") && strings.SplitN(r.Path, "/", 2)[0] != "~":
		return decode.WithPath("path", fmt.Errorf("`~username` syntax is not supported"))
	}
	return nil
}

// FilePathMapping uploads a local file or directory into the run. Input: {local_path, path}
// or "<local>[:<container path>]" (one path means the same path on both sides).
type FilePathMapping struct {
	LocalPath string `json:"local_path" dstack:"required"`
	Path      string `json:"path" dstack:"required"`
}

func (f *FilePathMapping) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	if n.Kind != decode.StringNode {
		return d.Struct(n, f)
	}
	parts := strings.Split(n.Str, ":")
	if len(parts) > 1 && isDriveLetter(parts[0], parts[1]) {
		parts = append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
	}
	switch len(parts) {
	case 1:
		*f = FilePathMapping{LocalPath: parts[0], Path: parts[0]}
	case 2:
		*f = FilePathMapping{LocalPath: parts[0], Path: parts[1]}
	default:
		return decode.Errorf(n, "invalid file path mapping %q; accepted: <local path>[:<container path>] or {local_path, path}", n.Str)
	}
	return nil
}

func (f FilePathMapping) validate() error {
	if len(f.Path) >= 3 && isDriveLetter(f.Path[:1], f.Path[2:]) && f.Path[1] == ':' {
		return decode.WithPath("path", fmt.Errorf("path must be a Unix file path: %s", f.Path))
	}
	return nil
}

// MountPoint is a `volumes` entry: a network volume ("name:/path", {name, path}; name may be
// a list of alternatives) or an instance directory ("/host/path:/path",
// {instance_path, path, optional}). Exactly one of Volume and Instance is set.
type MountPoint struct {
	Volume   *VolumeMountPoint
	Instance *InstanceMountPoint
}

// VolumeMountPoint mounts one of the named network volumes at Path.
type VolumeMountPoint struct {
	Name     []string // one name, or alternatives
	NameList bool     // whether Name was given as a list (kept for faithful output)
	Path     string
}

// InstanceMountPoint mounts a host directory at Path.
type InstanceMountPoint struct {
	InstancePath string `json:"instance_path" dstack:"required"`
	Path         string `json:"path" dstack:"required"`
	Optional     bool   `json:"optional"`
}

const mountForms = `accepted: "<volume name>:/path", "/host/path:/path", {name, path} or {instance_path, path, optional}`

// MarshalJSON writes the object form that is set.
func (m MountPoint) MarshalJSON() ([]byte, error) {
	if m.Instance != nil {
		return json.Marshal(*m.Instance)
	}
	if m.Volume == nil {
		return []byte("null"), nil
	}
	var name any = m.Volume.Name
	if len(m.Volume.Name) == 1 && !m.Volume.NameList {
		name = m.Volume.Name[0]
	}
	return json.Marshal(struct {
		Name any    `json:"name"`
		Path string `json:"path"`
	}{name, m.Volume.Path})
}

func (m *MountPoint) UnmarshalNode(d *decode.Decoder, n *decode.Node) error {
	switch {
	case n.Kind == decode.StringNode:
		parts := strings.Split(n.Str, ":")
		if len(parts) != 2 {
			return decode.Errorf(n, "invalid mount point %q; %s", n.Str, mountForms)
		}
		if strings.Contains(parts[0], "/") {
			m.Instance = &InstanceMountPoint{InstancePath: parts[0], Path: parts[1]}
		} else {
			m.Volume = &VolumeMountPoint{Name: []string{parts[0]}, Path: parts[1]}
		}
		return nil
	case n.Kind == decode.MapNode && n.Get("instance_path") != nil:
		m.Instance = &InstanceMountPoint{}
		return d.Struct(n, m.Instance)
	case n.Kind == decode.MapNode:
		var w struct {
			Name any    `json:"name" dstack:"required"`
			Path string `json:"path" dstack:"required"`
		}
		if err := d.Struct(withKey(n, "name", &decode.Node{Kind: decode.NullNode}), &w); err != nil {
			return err
		}
		return m.decodeVolumeName(d, n.Get("name"), w.Path)
	}
	return decode.Errorf(n, "invalid mount point %s; %s", n.Describe(), mountForms)
}

func (m *MountPoint) decodeVolumeName(d *decode.Decoder, name *decode.Node, path string) error {
	v := &VolumeMountPoint{Path: path, NameList: name.Kind == decode.SeqNode}
	if name.Kind == decode.SeqNode {
		if err := d.Into(name, &v.Name); err != nil {
			return decode.WithPath("name", err)
		}
	} else {
		s, err := decode.AsString(name)
		if err != nil {
			return decode.WithPath("name", err)
		}
		v.Name = []string{s}
	}
	m.Volume = v
	return nil
}

func (m MountPoint) validate() error {
	switch {
	case m.Instance != nil && m.Volume == nil:
		if err := validateMountPath(m.Instance.InstancePath); err != nil {
			return decode.WithPath("instance_path", err)
		}
		return decode.WithPath("path", validateMountPath(m.Instance.Path))
	case m.Volume != nil && m.Instance == nil:
		if len(m.Volume.Name) == 0 {
			return decode.WithPath("name", fmt.Errorf("at least one volume name is required"))
		}
		return decode.WithPath("path", validateMountPath(m.Volume.Path))
	}
	return fmt.Errorf("invalid mount point; %s", mountForms)
}

func validateMountPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case !isAbsPath(p):
		return fmt.Errorf("path must be absolute: %s", p)
	case strings.Contains("/"+p+"/", "/../"):
		return fmt.Errorf(".. are not allowed: %s", p)
	}
	return nil
}

func isAbsPath(p string) bool { return strings.HasPrefix(p, "/") }

// validateUnixUser checks the "user[:group]" form (names or non-negative ids).
func validateUnixUser(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) > 2 {
		return fmt.Errorf("invalid user format %q: too many parts; accepted: user[:group], names or ids", v)
	}
	for i, p := range parts {
		what := [...]string{"user", "group"}[i]
		if p == "" {
			return fmt.Errorf("invalid user format %q: empty %s name or id", v, what)
		}
		if id, err := strconv.Atoi(p); err == nil && id < 0 {
			return fmt.Errorf("invalid user format %q: negative %s id %d", v, what, id)
		}
	}
	return nil
}

func joinQuoted(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
