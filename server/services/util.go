package services

import "time"

func ptrTime(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}
