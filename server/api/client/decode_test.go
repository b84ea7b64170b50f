package client

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkSame asserts decodeList agrees with json.Unmarshal on data.
func checkSame(t *testing.T, data string) {
	t.Helper()
	var want []any
	wantErr := json.Unmarshal([]byte(data), &want)
	got, err := decodeList([]byte(data), unmarshal[any])
	require.True(t, (err != nil) == (wantErr != nil), "%q: error %v, json.Unmarshal's %v", data, err, wantErr)
	require.False(t, err == nil && !reflect.DeepEqual(got, want), "%q: got %#v, want %#v", data, got, want)
}

// many makes an array long enough for the parallel path.
func many(elem string) string {
	return "[" + strings.Repeat(elem+",", parallelFrom) + elem + "]"
}

func TestDecodeListMatchesUnmarshal(t *testing.T) {
	for _, elem := range []string{
		`1`, `-2.5e3`, `true`, `null`, `"a,b]c"`, `"esc\"aped\\"`, `{"a":[1,{"b":"}"}]}`, `[]`, `{}`,
		` { "x" : [ 1 , 2 ] } `, `"\u00e9"`,
		// invalid elements must fail as json.Unmarshal does
		`1 2`, `{"a":}`, `tru`, `"open`, `{"a":1`, `[1,]`, `01`,
	} {
		checkSame(t, many(elem))
		checkSame(t, "["+elem+"]")
	}
	for _, doc := range []string{`null`, ` null `, `[]`, ` [ ] `, `[1]x`, many(`1`) + `x`, `{"a":1}`, `[`, `]`, ``, `[1,,2]`} {
		checkSame(t, doc)
	}
}

func FuzzDecodeList(f *testing.F) {
	for _, s := range []string{`1`, `"x"`, `{"a":[1,"]"]}`, `[1,2`, `"\\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, elem string) {
		checkSame(t, many(elem))
		checkSame(t, elem)
	})
}
