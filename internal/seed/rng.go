package seed

import "math"

// rng is a SplitMix64 generator. The generator is written out here rather
// than taken from math/rand/v2 so that a seed gives the same data set on every
// Go release: the standard library keeps its sources stable but not the
// algorithms behind Rand's helper methods.
type rng struct{ s uint64 }

// mix derives an independent stream from a run's seed, a lead's index and a
// stream number, so any lead can be regenerated on its own in any pass.
func (r *rng) mix(seed int64, index int, stream uint64) {
	r.s = uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(index)*0xd1b54a32d192ed03 ^ stream*0x8cb92ba72f3d8dd7
	r.next()
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// float is uniform in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) * (1.0 / (1 << 53)) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// intn is uniform in [0, n); the bias of the multiply-shift is below 2^-32 for
// the small n used here.
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int((r.next() >> 32) * uint64(n) >> 32)
}

// between is uniform in [lo, hi].
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.float()*float64(hi-lo+1))
}

// norm is a standard normal variate (Box–Muller, one of the pair).
func (r *rng) norm() float64 {
	u := 1 - r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

// lognorm has the given median and shape; it models waiting times and deal
// sizes, which are skewed with a long right tail.
func (r *rng) lognorm(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.norm())
}

// pick returns an index drawn with the given cumulative weights (the last one
// is the total).
func (r *rng) pick(cum []float64) int {
	u := r.float() * cum[len(cum)-1]
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}
