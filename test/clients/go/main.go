// A batch job's push, as a Go program using client_golang's push package: the end-to-end tests
// run it against Lethe (and against the Pushgateway, to check the tests themselves).
//
//	go-push-client -url URL -job JOB [-grouping name=value]... -action push|add|delete -set NAME [-format proto|text]
//	               [-basic-auth user:password] [-bearer-token-file FILE] [-ca FILE] [-cert FILE -key FILE]
//
// Exits 0 when the gateway took the request; otherwise prints the client's error and exits 1.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
)

type groupings []string

func (g *groupings) String() string     { return strings.Join(*g, ",") }
func (g *groupings) Set(v string) error { *g = append(*g, v); return nil }

// register fills reg with one of the metric sets the tests know by name.
func register(reg *prometheus.Registry, set string) error {
	switch set {
	case "batch":
		items := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_batch_items_total", Help: "Items the batch job processed."})
		items.Add(42)
		last := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_batch_last_success_timestamp_seconds", Help: "When the batch job last succeeded."})
		last.Set(1.7e9)
		stage := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "go_batch_stage_seconds", Help: "Time per stage.", Buckets: []float64{0.1, 1, 10}}, []string{"stage"})
		stage.WithLabelValues("load").Observe(0.05)
		stage.WithLabelValues("load").Observe(2)
		stage.WithLabelValues("save").Observe(0.5)
		size := prometheus.NewSummary(prometheus.SummaryOpts{Name: "go_batch_size_bytes", Help: "Size of the batches.", Objectives: map[float64]float64{0.5: 0.05}})
		size.Observe(100)
		size.Observe(300)
		size.Observe(200)
		note := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "go_batch_info", Help: "Free text \\ with \"quotes\"\nand a second line."}, []string{"note"})
		note.WithLabelValues("ünïcode \"quoted\" \\ back\nslash").Set(1)
		return must(reg, items, last, stage, size, note)
	case "runs":
		runs := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_batch_runs_total", Help: "Runs of the batch job."})
		runs.Inc()
		return must(reg, runs)
	case "native":
		h := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                         "go_native_seconds",
			Help:                         "A native histogram.",
			NativeHistogramBucketFactor:  1.1,
			NativeHistogramZeroThreshold: 1e-9,
		})
		for _, v := range []float64{0, 0.002, 0.5, 0.5, 3} {
			h.Observe(v)
		}
		return must(reg, h)
	case "large":
		// About 100 KB in the text format: more than a nearly full disk takes.
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "go_large_items", Help: "Many series."}, []string{"item"})
		for i := 0; i < 1000; i++ {
			g.WithLabelValues(fmt.Sprintf("item-%04d-%s", i, strings.Repeat("x", 64))).Set(float64(i))
		}
		return must(reg, g)
	case "default":
		// What a job gathers with prometheus.DefaultGatherer: the Go runtime's and the process's metrics.
		return must(reg, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	case "dotted":
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go.batch.dotted_ratio", Help: "A metric name outside the legacy character set."})
		g.Set(0.25)
		return must(reg, g)
	case "conflict-gauge":
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_conflict", Help: "Pushed as a gauge."})
		g.Set(1)
		return must(reg, g)
	case "conflict-counter":
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_conflict", Help: "Pushed as a counter."})
		c.Inc()
		return must(reg, c)
	}
	return fmt.Errorf("unknown metric set %q", set)
}

// must registers the collectors (a name the registry refuses is the program's own mistake).
func must(reg *prometheus.Registry, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	url := flag.String("url", "", "the gateway's base URL")
	job := flag.String("job", "", "the job label")
	action := flag.String("action", "push", "push (PUT), add (POST) or delete (DELETE)")
	set := flag.String("set", "batch", "the metric set to push")
	format := flag.String("format", "proto", "proto (client_golang's default) or text")
	basicAuth := flag.String("basic-auth", "", "user:password to send")
	tokenFile := flag.String("bearer-token-file", "", "file whose content is sent as a bearer token (a ServiceAccount token)")
	ca := flag.String("ca", "", "PEM file of the CA to trust for https")
	cert := flag.String("cert", "", "PEM file of a client certificate (with -key)")
	key := flag.String("key", "", "PEM file of the client certificate's key")
	var groups groupings
	flag.Var(&groups, "grouping", "name=value of a grouping label (repeatable)")
	flag.Parse()

	reg := prometheus.NewRegistry()
	if *action != "delete" {
		if err := register(reg, *set); err != nil {
			fail(err)
		}
	}
	p := push.New(*url, *job).Gatherer(reg)
	for _, g := range groups {
		name, value, ok := strings.Cut(g, "=")
		if !ok {
			fail(fmt.Errorf("grouping %q is not name=value", g))
		}
		p = p.Grouping(name, value)
	}
	if *basicAuth != "" {
		user, password, _ := strings.Cut(*basicAuth, ":")
		p = p.BasicAuth(user, password)
	}
	if *tokenFile != "" {
		token, err := os.ReadFile(*tokenFile)
		if err != nil {
			fail(err)
		}
		p = p.Header(http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}})
	}
	if *ca != "" || *cert != "" {
		client, err := tlsClient(*ca, *cert, *key)
		if err != nil {
			fail(err)
		}
		p = p.Client(client)
	}
	if *format == "text" {
		p = p.Format(expfmt.NewFormat(expfmt.TypeTextPlain))
	}
	var err error
	switch *action {
	case "push":
		err = p.Push()
	case "add":
		err = p.Add()
	case "delete":
		err = p.Delete()
	default:
		err = fmt.Errorf("unknown action %q", *action)
	}
	if err != nil {
		fail(err)
	}
}

// tlsClient is an HTTP client that trusts the CA in caFile and presents the certificate in
// certFile and keyFile (each when given).
func tlsClient(caFile, certFile, keyFile string) (*http.Client, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", caFile)
		}
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: config}}, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
