package services

import (
	"context"
	"regexp"
	"time"

	"github.com/dstackgo/dstack/db"
)

var namePatternRe = regexp.MustCompile(`^[a-zA-Z0-9-_]*$`)

// listScope validates the paging of a list request over several projects
// and maps the projects the actor may list (all for admins), narrowed to the
// named one when given, from id to name.
func listScope(ctx context.Context, env *Env, actor *db.User, project *string, names []string,
	prevTime *time.Time, prevID *string, limit *int, asc bool, max int) (db.Page, map[string]string, error) {
	page, err := pageOf(prevTime, prevID, limit, asc, max)
	if err != nil {
		return db.Page{}, nil, err
	}
	if project != nil {
		names = append(names, *project)
	}
	projects, err := visibleProjects(ctx, env, actor, names)
	if err != nil {
		return db.Page{}, nil, err
	}
	return page, projects, nil
}

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
