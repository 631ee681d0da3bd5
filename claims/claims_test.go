package claims

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	decoded := func(js string) Claims {
		var c Claims
		if err := json.Unmarshal([]byte(js), &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	withNumbers := func(js string) Claims {
		d := json.NewDecoder(strings.NewReader(js))
		d.UseNumber()
		var c Claims
		if err := d.Decode(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		claims Claims
		want   string
		wantOK bool
	}{
		{"string", Claims{"v": "alice@example.com"}, "alice@example.com", true},
		{"string kept as is", Claims{"v": " Alice\t"}, " Alice\t", true},
		{"empty string", Claims{"v": ""}, "", false},
		{"absent", Claims{}, "", false},
		{"nil claims", nil, "", false},
		{"null", decoded(`{"v":null}`), "", false},
		{"float64 integer", decoded(`{"v":1234567890}`), "1234567890", true},
		{"float64 large integer", Claims{"v": 1e20}, "100000000000000000000", true},
		{"float64 fraction", decoded(`{"v":1.5}`), "1.5", true},
		{"float64 negative", decoded(`{"v":-42}`), "-42", true},
		{"float64 negative zero", Claims{"v": math.Copysign(0, -1)}, "0", true},
		{"float64 NaN", Claims{"v": math.NaN()}, "", false},
		{"float64 Inf", Claims{"v": math.Inf(1)}, "", false},
		{"float64 exponent input", decoded(`{"v":1.2e3}`), "1200", true},
		{"json.Number integer", withNumbers(`{"v":1234567890}`), "1234567890", true},
		{"json.Number past int64", withNumbers(`{"v":123456789012345678901234567890}`), "123456789012345678901234567890", true},
		{"json.Number exponent", withNumbers(`{"v":1.23456789e+09}`), "1234567890", true},
		{"json.Number fraction", withNumbers(`{"v":0.25}`), "0.25", true},
		{"json.Number out of range", Claims{"v": json.Number("1e400")}, "", false},
		{"json.Number invalid", Claims{"v": json.Number("abc")}, "", false},
		{"int", Claims{"v": 7}, "7", true},
		{"int64", Claims{"v": int64(-7)}, "-7", true},
		{"uint64", Claims{"v": uint64(18446744073709551615)}, "18446744073709551615", true},
		{"bool true", decoded(`{"v":true}`), "true", true},
		{"bool false", decoded(`{"v":false}`), "false", true},
		{"array", decoded(`{"v":["a","b"]}`), "", false},
		{"single-element array", decoded(`{"v":["a"]}`), "", false},
		{"object", decoded(`{"v":{"a":"b"}}`), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.claims.String("v")
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("String(%q) = %q, %v; want %q, %v", "v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
