package proxy

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series. Every label value comes from
// a fixed set (site names from the configuration, reasons from the code,
// status classes), never from a request.
type metrics struct {
	registry *prometheus.Registry

	requests       *prometheus.CounterVec   // site, class
	upstream       *prometheus.HistogramVec // site
	signIns        *prometheus.CounterVec   // result, reason
	keyFetches     *prometheus.CounterVec   // source, result
	tokenEndpoint  prometheus.Histogram
	credentialGets *prometheus.CounterVec // credential, result
	revocations    *prometheus.CounterVec // source
	storeErrors    *prometheus.CounterVec // op
	propagation    prometheus.Histogram
}

// Sources of revocation marks, the values of oidcgate_revocations_total's
// source label.
const (
	revokedBySignOut      = "signout"
	revokedByBackChannel  = "backchannel"
	revokedByFrontChannel = "frontchannel"
	revokedByAdmin        = "admin"
)

func newMetrics(version string) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcgate_requests_total", Help: "Requests answered, by site and status class.",
		}, []string{"site", "class"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oidcgate_upstream_duration_seconds", Help: "Time from forwarding a request upstream to the end of its response, by site.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"site"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcgate_signins_total", Help: "Sign-in responses handled, by result (ok, denied, refused, failed) and reason.",
		}, []string{"result", "reason"}),
		keyFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcgate_provider_fetches_total", Help: "Fetches of the provider's discovery document, keys or metadata, by source and result.",
		}, []string{"source", "result"}),
		tokenEndpoint: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "oidcgate_token_endpoint_duration_seconds", Help: "Authorization code exchanges at the provider's token endpoint.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		credentialGets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcgate_credential_token_fetches_total", Help: "Client-credentials token requests, by credential and result.",
		}, []string{"credential", "result"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcgate_revocations_total", Help: "Revocation marks written by this replica, by source (signout, backchannel, frontchannel, admin).",
		}, []string{"source"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oidcgate_store_errors_total", Help: "Failed operations on the shared store, by operation (revoke, reserve, release, follow).",
		}, []string{"op"}),
		propagation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "oidcgate_store_mark_delay_seconds", Help: "Time from a revocation mark being written (by any replica) to this replica learning it from the shared store.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	for _, source := range []string{revokedBySignOut, revokedByBackChannel, revokedByFrontChannel, revokedByAdmin} {
		m.revocations.WithLabelValues(source)
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oidcgate_build_info", Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(m.requests, m.upstream, m.signIns, m.keyFetches, m.tokenEndpoint, m.credentialGets, m.revocations, m.storeErrors, m.propagation, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// revoked counts one revocation mark written by source (one of the
// revokedBy constants).
func (m *metrics) revoked(source string) { m.revocations.WithLabelValues(source).Inc() }

// gauge registers a value read at scrape time.
func (m *metrics) gauge(name, help string, f func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// counter registers a count read at scrape time.
func (m *metrics) counter(name, help string, f func() float64) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// siteCounters are one site's request counters by status class, resolved
// once so the hot path does no label lookup.
type siteCounters [6]prometheus.Counter

func (m *metrics) siteCounters(site string) *siteCounters {
	var c siteCounters
	for class := 1; class <= 5; class++ {
		c[class] = m.requests.WithLabelValues(site, strconv.Itoa(class)+"xx")
	}
	return &c
}

func (c *siteCounters) observe(status int) {
	class := status / 100
	if class < 1 || class > 5 {
		class = 5
	}
	c[class].Inc()
}

func since(start time.Time) float64 { return time.Since(start).Seconds() }
