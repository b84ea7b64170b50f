package schemas

import (
	"fmt"
	"strconv"
	"strings"
)

type cronField struct {
	name     string
	lo, hi   int
	names    []string // accepted names; index = value - nameBase
	nameBase int
}

var cronFields = []cronField{
	{name: "minute", lo: 0, hi: 59},
	{name: "hour", lo: 0, hi: 23},
	{name: "day", lo: 1, hi: 31},
	{name: "month", lo: 1, hi: 12, nameBase: 1,
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", lo: 0, hi: 7,
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// ValidateCron checks a standard 5-field crontab expression (minute hour day month weekday;
// *, lists, ranges, steps, month and weekday names), the form upstream's scheduler accepts.
func ValidateCron(expr string) error {
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("invalid cron expression %q: got %d fields; expected 5 (minute hour day month weekday, UTC), e.g. \"0 8 * * mon-fri\"", expr, len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return fmt.Errorf("invalid cron expression %q: %s field %q: %v", expr, cronFields[i].name, f, err)
		}
	}
	return nil
}

func (cf cronField) check(field string) error {
	for _, part := range strings.Split(field, ",") {
		if err := cf.checkPart(strings.ToLower(part)); err != nil {
			return err
		}
	}
	return nil
}

func (cf cronField) checkPart(part string) error {
	body, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 {
			return fmt.Errorf("step %q must be a positive integer", step)
		}
	}
	if body == "*" || (body == "last" && cf.name == "day" && !hasStep) {
		return nil
	}
	first, last, isRange := strings.Cut(body, "-")
	lo, err := cf.value(first)
	if err != nil {
		return err
	}
	if !isRange {
		return nil
	}
	hi, err := cf.value(last)
	if err != nil {
		return err
	}
	if hi < lo {
		return fmt.Errorf("range %s is reversed", body)
	}
	return nil
}

func (cf cronField) value(s string) (int, error) {
	for i, name := range cf.names {
		if s == name {
			return i + cf.nameBase, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || !isDigits(s) {
		if len(cf.names) > 0 {
			return 0, fmt.Errorf("%q is not a number or a name (%s)", s, strings.Join(cf.names, ", "))
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < cf.lo || n > cf.hi {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, cf.lo, cf.hi)
	}
	return n, nil
}
