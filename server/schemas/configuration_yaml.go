package schemas

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/dstackgo/dstack/server/schemas/decode"
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
	root, err := decode.FromYAML(&doc)
	if err != nil {
		return nil, configError(filename, nil, err)
	}
	if root.Kind == decode.NullNode {
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

func decodeConfiguration(root *decode.Node) (AnyConfiguration, error) {
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
		return nil, &decode.FieldError{Path: "type", Line: root.Get("type").Line,
			Msg: fmt.Sprintf("%q configurations are not supported yet; accepted: %s", typ, applyTypes)}
	default:
		return nil, &decode.FieldError{Path: "type", Line: root.Get("type").Line,
			Msg: fmt.Sprintf("invalid configuration type %q; accepted: %s", typ, applyTypes)}
	}
	if err := (&decode.Decoder{Strict: true}).Root(root, conf); err != nil {
		return nil, err
	}
	return conf, nil
}

// configError locates err in the file: decode errors carry their line; for Validate errors
// the line of the deepest existing key along the error's field path is used.
func configError(filename string, root *decode.Node, err error) error {
	ce := &ConfigurationError{Filename: filename, Msg: err.Error()}
	var fe *decode.FieldError
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
func lineForPath(root *decode.Node, path string) int {
	if root == nil {
		return 0
	}
	line, n := root.Line, root
	for _, seg := range pathSegRe().FindAllString(path, -1) {
		if strings.HasPrefix(seg, "[") {
			i, _ := strconv.Atoi(strings.Trim(seg, "[]"))
			if n.Kind != decode.SeqNode || i >= len(n.Items) {
				return line
			}
			n = n.Items[i]
			line = n.Line
			continue
		}
		idx := keyIndex(n, seg)
		if alias, ok := keyAliases[seg]; ok && idx < 0 {
			idx = keyIndex(n, alias)
		}
		if idx < 0 {
			return line
		}
		line, n = decode.KeyLine(n, idx), n.Vals[idx]
	}
	return line
}

func keyIndex(n *decode.Node, key string) int {
	if n.Kind != decode.MapNode {
		return -1
	}
	for i, k := range n.Keys {
		if k == key {
			return i
		}
	}
	return -1
}
