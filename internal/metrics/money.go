package metrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in cents of the report's currency. Sums are exact;
// amounts with more than two decimals are rounded half away from zero once,
// when read.
type Money int64

// ErrMoney is returned for a text that is not a decimal amount.
var ErrMoney = errors.New("metrics: not a decimal amount")

// ParseMoney reads a decimal such as "12345.67", "-3", "1e3" or "0.005".
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrMoney)
	}
	neg := false
	body := s
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	whole, frac, _ := strings.Cut(body, ".")
	if whole == "" && frac == "" || strings.ContainsAny(body, "eE") {
		// Rare forms (exponents) go through float parsing.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%w: %q", ErrMoney, s)
		}
		return MoneyFromFloat(f)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%w: %q", ErrMoney, s)
		}
	}
	if len(strings.TrimLeft(whole, "0")) > maxWholeDigits {
		return 0, fmt.Errorf("%w: %q is too large (over %s)", ErrMoney, s, maxMoneyText)
	}
	var cents int64
	if whole != "" {
		w, _ := strconv.ParseInt(whole, 10, 64)
		cents = w * 100
	}
	frac += "000"
	c, _ := strconv.ParseInt(frac[:2], 10, 64)
	cents += c
	if frac[2] >= '5' {
		cents++
	}
	if neg {
		cents = -cents
	}
	return Money(cents), nil
}

// The largest amount sameteam reads: ten trillion, far above any deal or
// campaign, and small enough that millions of them sum exactly in cents
// without overflowing. A larger amount is a data error, reported, never
// wrapped around into a wrong sum.
const (
	maxWholeDigits = 13
	maxMoneyText   = "9999999999999.99"
	maxMoney       = 1e13
)

// MoneyFromFloat rounds a float amount to the cent, half away from zero.
// Amounts beyond ±10^13 (and NaN) are refused.
func MoneyFromFloat(f float64) (Money, error) {
	if math.IsNaN(f) || math.Abs(f) >= maxMoney {
		return 0, fmt.Errorf("%w: %g is too large (over %s)", ErrMoney, f, maxMoneyText)
	}
	return Money(math.Round(f * 100)), nil
}

// Float is the amount in currency units.
func (m Money) Float() float64 { return float64(m) / 100 }

// String prints the amount with two decimals: 1234.50, -3.00.
func (m Money) String() string {
	sign := ""
	c := int64(m)
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// MarshalJSON writes the amount as a JSON number with two decimals.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a JSON number.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// positive is the amount as it counts in sums: null and negative count as 0.
func (m Money) positive() Money { return max(m, 0) }
