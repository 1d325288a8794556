package seed

import "sort"

const (
	minute = 60
	hour   = 3600
	day    = 86400
	week   = 7 * day
)

// calendar spreads lead creation over the span: fewer leads at night and at
// weekends, and a gentle growth from the first week to the last. It holds one
// cumulative weight per hour of the span.
type calendar struct {
	first int64 // unix seconds of the first hour
	start int64
	end   int64
	cum   []float64
}

// growth is how much busier the last hour is than the first (+45 %).
const growth = 0.45

func newCalendar(start, end int64) calendar {
	// Weekday weights, Sunday first (time.Weekday order).
	dayWeight := [7]float64{0.22, 1.0, 1.05, 1.05, 1.0, 0.85, 0.3}
	// Hour-of-day weights in UTC: the business day of a CET company.
	hourWeight := [24]float64{
		0.12, 0.1, 0.1, 0.1, 0.12, 0.2, 0.45, 0.9, 1.3, 1.4, 1.35, 1.3,
		1.1, 1.15, 1.25, 1.2, 1.1, 0.9, 0.65, 0.5, 0.4, 0.3, 0.22, 0.15,
	}
	c := calendar{first: start - start%hour, start: start, end: end}
	n := int((end - c.first + hour - 1) / hour)
	c.cum = make([]float64, n)
	sum := 0.0
	for h := range n {
		t := c.first + int64(h)*hour
		lo, hi := c.bucket(h)
		x := float64(t-start) / float64(max(end-start, 1))
		w := dayWeight[weekday(t)] * hourWeight[(t%day)/hour] * (1 + growth*max(0, min(1, x)))
		// The first and last hours may be cut by the span's ends.
		sum += w * float64(hi-lo) / hour
		c.cum[h] = sum
	}
	return c
}

// at is the creation time of lead i of n. The position (i + jitter)/n is
// mapped through the inverse of the cumulative weights, so leads come out in
// creation order and any lead's time can be found without the others.
func (c *calendar) at(i, n int, r *rng) int64 {
	total := c.cum[len(c.cum)-1]
	u := (float64(i) + r.float()) / float64(n) * total
	h := sort.SearchFloat64s(c.cum, u)
	h = min(h, len(c.cum)-1)
	prev := 0.0
	if h > 0 {
		prev = c.cum[h-1]
	}
	frac := (u - prev) / (c.cum[h] - prev)
	lo, hi := c.bucket(h)
	return min(lo+int64(frac*float64(hi-lo)), c.end)
}

// bucket is the part of hour h inside [start, end).
func (c *calendar) bucket(h int) (lo, hi int64) {
	lo = c.first + int64(h)*hour
	return max(lo, c.start), min(lo+hour, c.end)
}

// weekday of a unix time, Sunday = 0 (1970-01-01 was a Thursday).
func weekday(t int64) int64 {
	d := t / day
	if t < 0 && t%day != 0 {
		d--
	}
	return ((d+4)%7 + 7) % 7
}

// workTime moves a sales touch that falls at night or on a weekend to the
// next working morning, most of the time: reps mostly work office hours, which
// is also why weekend MQLs breach the SLA more often.
func workTime(t int64, r *rng) int64 {
	wd := weekday(t)
	h := (t % day) / hour
	dayStart := t - t%day
	switch {
	case wd == 6 || wd == 0:
		if !r.chance(0.7) {
			return t
		}
		skip := int64(1)
		if wd == 6 {
			skip = 2
		}
		return dayStart + skip*day + 7*hour + r.between(0, 3*hour)
	case h < 7:
		if !r.chance(0.75) {
			return t
		}
		return dayStart + 7*hour + r.between(0, 2*hour)
	case h >= 19:
		if !r.chance(0.7) {
			return t
		}
		next := dayStart + day
		if wd == 5 {
			next += 2 * day
		}
		return next + 7*hour + r.between(0, 2*hour)
	}
	return t
}
