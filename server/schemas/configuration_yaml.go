package schemas

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// ConfigurationError is an invalid configuration file, rendered "file:line: path: message"
// (line and path are left out when unknown).
type ConfigurationError struct {
	Filename string
	Line     int
	Path     string
	Msg      string
}

// Error renders "file:line: path: message".
func (e *ConfigurationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Filename)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

const applyTypes = "dev-environment, task, service, fleet"

var yamlLineRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// ParseConfigurationYAML parses and validates a configuration file (`dstack apply -f`).
// Unknown keys are errors; every error is a *ConfigurationError naming the file, the line
// and the field, e.g. `fleet.dstack.yml:7: resources.gpu: "A100:x:2": ...`.
func ParseConfigurationYAML(data []byte, filename string) (AnyConfiguration, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLineRe().FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, &ConfigurationError{Filename: filename, Line: line, Msg: "invalid YAML: " + msg}
	}
	root, err := yamlToNode(&doc)
	if err != nil {
		return nil, configError(filename, nil, err)
	}
	if root.kind == vNull {
		return nil, &ConfigurationError{Filename: filename, Msg: "the configuration is empty; it needs at least `type` (" + applyTypes + ")"}
	}
	conf, err := decodeConfiguration(root)
	if err == nil {
		err = conf.Validate()
	}
	if err != nil {
		return nil, configError(filename, root, err)
	}
	return conf, nil
}

func decodeConfiguration(root *vnode) (AnyConfiguration, error) {
	typ, err := discriminator(root, applyTypes)
	if err != nil {
		return nil, err
	}
	var conf AnyConfiguration
	switch typ {
	case ConfigurationTypeDevEnvironment:
		conf = &DevEnvironmentConfiguration{}
	case ConfigurationTypeTask:
		conf = &TaskConfiguration{}
	case ConfigurationTypeService:
		conf = &ServiceConfiguration{}
	case ConfigurationTypeFleet:
		conf = &FleetConfiguration{}
	case "gateway", "volume", "preset":
		return nil, &FieldError{Path: "type", Line: root.get("type").line,
			Msg: fmt.Sprintf("%q configurations are not supported yet; accepted: %s", typ, applyTypes)}
	default:
		return nil, &FieldError{Path: "type", Line: root.get("type").line,
			Msg: fmt.Sprintf("invalid configuration type %q; accepted: %s", typ, applyTypes)}
	}
	if err := (&decoder{strict: true}).decodeRoot(root, conf); err != nil {
		return nil, err
	}
	return conf, nil
}

// configError locates err in the file: decode errors carry their line; for Validate errors
// the line of the deepest existing key along the error's field path is used.
func configError(filename string, root *vnode, err error) error {
	ce := &ConfigurationError{Filename: filename, Msg: err.Error()}
	var fe *FieldError
	if errors.As(err, &fe) {
		ce.Path, ce.Msg, ce.Line = fe.Path, fe.Msg, fe.Line
		if ce.Line == 0 {
			ce.Line = lineForPath(root, fe.Path)
		}
	}
	return ce
}

// keyAliases are input keys that decode into a differently named field.
var keyAliases = map[string]string{"replicas": "groups", "groups": "replicas", "count": "replicas"}

var pathSegRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^.\[\]]+|\[\d+\]`) })

// lineForPath walks a field path ("groups[1].name") through the parsed file and returns the
// line of the deepest part found.
func lineForPath(root *vnode, path string) int {
	if root == nil {
		return 0
	}
	line, n := root.line, root
	for _, seg := range pathSegRe().FindAllString(path, -1) {
		if strings.HasPrefix(seg, "[") {
			i, _ := strconv.Atoi(strings.Trim(seg, "[]"))
			if n.kind != vSeq || i >= len(n.items) {
				return line
			}
			n = n.items[i]
			line = n.line
			continue
		}
		idx := keyIndex(n, seg)
		if alias, ok := keyAliases[seg]; ok && idx < 0 {
			idx = keyIndex(n, alias)
		}
		if idx < 0 {
			return line
		}
		line, n = keyLine(n, idx), n.vals[idx]
	}
	return line
}

func keyIndex(n *vnode, key string) int {
	if n.kind != vMap {
		return -1
	}
	for i, k := range n.keys {
		if k == key {
			return i
		}
	}
	return -1
}
