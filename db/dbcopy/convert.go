package dbcopy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the forms SQLite holds timestamps in.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// convert turns a value read from either database into the Go type of the
// PostgreSQL column: SQLite keeps booleans as integers and timestamps as
// text; PostgreSQL keeps timestamps to the microsecond.
func convert(pgType string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok && pgType != "bytea" {
		v = string(b)
	}
	switch pgType {
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case "timestamp with time zone", "timestamp without time zone":
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Round(time.Microsecond), nil
		case string:
			for _, l := range timeLayouts {
				if t, err := time.Parse(l, x); err == nil {
					return t.UTC().Round(time.Microsecond), nil
				}
			}
			return nil, fmt.Errorf("timestamp %q in no known form", x)
		}
	case "integer", "bigint", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case "double precision", "real", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "uuid":
		if s, ok := v.(string); ok {
			return strings.ToLower(s), nil
		}
	default: // text and the like
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	return nil, fmt.Errorf("a %T cannot go into a %s column", v, pgType)
}
