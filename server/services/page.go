package services

import (
	"regexp"
	"time"

	"github.com/dstackgo/dstack/db"
)

var namePatternRe = regexp.MustCompile(`^[a-zA-Z0-9-_]*$`)

// pageOf validates the keyset pagination fields shared by the list requests.
func pageOf(prevTime *time.Time, prevID *string, limit *int, asc bool, max int) (db.Page, error) {
	p := db.Page{PrevTime: prevTime, PrevID: prevID, Limit: max, Ascending: asc}
	if limit != nil {
		if *limit < 0 || *limit > max {
			return db.Page{}, InvalidField("limit", "limit must be between 0 and %d, got %d", max, *limit)
		}
		p.Limit = *limit
	}
	if prevTime != nil && prevID == nil {
		return db.Page{}, InvalidField("prev_id", "prev_id is required with prev_created_at")
	}
	return p, nil
}
