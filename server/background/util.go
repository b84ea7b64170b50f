package background

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
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

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func deref64(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
