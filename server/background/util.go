package background

import (
	"encoding/json"
	"errors"
	"fmt"
)

// errLeaseLost turns "the update found no row under our lease" into an error
// that rolls the transaction back.
func errLeaseLost(err error) error {
	if err != nil {
		return err
	}
	return errors.New("lease lost: another worker took the row over")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return string(b)
}
