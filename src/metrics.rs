//! Operations metrics in the Prometheus text format (`GET /metrics`): requests and latency by
//! route and status, bank callbacks acknowledged and refused, rows ingested, reconciliation
//! durations, live-figure refreshes and database pool use. One registry for the process:
//! what happens is counted where it happens; the pools are read when scraped.
//!
//! Durations are seconds as `f64`: measurements, never money.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's pattern (`/api/v1/periods/{id}`), never the path with its values.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
    state: String,
}

/// Request latencies: 1 ms to about 33 s.
fn latency() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 16,
    ))
}

/// Reconciliations and live figures: 10 ms to about 5.5 min.
fn long_running() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.01, 2.0, 16,
    ))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    callback_requests: Family<OutcomeLabels, Counter>,
    callback_payouts: Counter,
    rows: Family<KindLabels, Counter>,
    reconciliations: Histogram,
    live: Histogram,
    live_changes: Counter,
    live_recomputes: Counter,
    pool: Family<PoolLabels, Gauge>,
}

/// The one set of metrics of this process.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("doisoat");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            latency.clone(),
        );
        let callback_requests = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "callback_requests",
            "Signed bank callback requests, acknowledged (stored or replayed) or refused",
            callback_requests.clone(),
        );
        let callback_payouts = Counter::default();
        registry.register(
            "callback_payouts_acknowledged",
            "Payouts in acknowledged bank callback requests",
            callback_payouts.clone(),
        );
        let rows = Family::<KindLabels, Counter>::default();
        registry.register(
            "rows_ingested",
            "Rows stored from uploaded files, by kind (beneficiaries, payouts)",
            rows.clone(),
        );
        let reconciliations = long_running();
        registry.register(
            "reconciliation_duration_seconds",
            "Time to reconcile and store a run",
            reconciliations.clone(),
        );
        let live = long_running();
        registry.register(
            "live_figures_refresh_duration_seconds",
            "Time to work out a period's live figures (coverage, roll-ups, the dashboard)",
            live.clone(),
        );
        let live_changes = Counter::default();
        registry.register(
            "live_figures_changes_applied",
            "Changed callback payouts taken into the live figures without a full recompute",
            live_changes.clone(),
        );
        let live_recomputes = Counter::default();
        registry.register(
            "live_figures_recomputes",
            "Full recomputes of a period's live figures (new or retired uploads)",
            live_recomputes.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections by pool (reader, writer) and state (idle, in_use)",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            callback_requests,
            callback_payouts,
            rows,
            reconciliations,
            live,
            live_changes,
            live_recomputes,
            pool,
        }
    }

    /// An answered request: `route` is the matched pattern.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.latency
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// A bank's callback request: acknowledged with `payouts` answers, or refused.
    pub fn callback(&self, acknowledged: bool, payouts: usize) {
        let outcome = if acknowledged {
            "acknowledged"
        } else {
            "refused"
        };
        self.callback_requests
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
        if acknowledged {
            self.callback_payouts.inc_by(payouts as u64);
        }
    }

    /// Rows stored from an upload of `kind` (`beneficiaries`, `payouts`).
    pub fn rows_ingested(&self, kind: &str, rows: u64) {
        self.rows
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc_by(rows);
    }

    pub fn reconciliation(&self, took: Duration) {
        self.reconciliations.observe(took.as_secs_f64());
    }

    pub fn live_refresh(&self, took: Duration) {
        self.live.observe(took.as_secs_f64());
    }

    pub fn live_changes(&self, payouts: u64) {
        self.live_changes.inc_by(payouts);
    }

    pub fn live_recompute(&self) {
        self.live_recomputes.inc();
    }

    /// A pool's connections as the store reports them when scraped.
    pub fn pool(&self, pool: &str, size: u32, idle: u32) {
        let gauge = |state: &str| {
            self.pool.get_or_create(&PoolLabels {
                pool: pool.to_owned(),
                state: state.to_owned(),
            })
        };
        gauge("idle").set(i64::from(idle));
        gauge("in_use").set(i64::from(size.saturating_sub(idle)));
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The content type of `render`'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_recorded_is_rendered_by_route_not_path() {
        let m = Metrics::new();
        m.request("GET", "/api/v1/periods/{id}", 200, Duration::from_millis(3));
        m.callback(true, 2);
        m.callback(false, 0);
        m.rows_ingested("payouts", 7);
        m.reconciliation(Duration::from_millis(40));
        m.live_refresh(Duration::from_millis(40));
        m.live_changes(3);
        m.live_recompute();
        m.pool("writer", 4, 1);
        let text = m.render();
        for want in [
            "doisoat_http_requests_total{method=\"GET\",route=\"/api/v1/periods/{id}\",status=\"200\"} 1",
            "doisoat_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/periods/{id}\"} 1",
            "doisoat_callback_requests_total{outcome=\"acknowledged\"} 1",
            "doisoat_callback_requests_total{outcome=\"refused\"} 1",
            "doisoat_callback_payouts_acknowledged_total 2",
            "doisoat_rows_ingested_total{kind=\"payouts\"} 7",
            "doisoat_reconciliation_duration_seconds_count 1",
            "doisoat_live_figures_refresh_duration_seconds_count 1",
            "doisoat_live_figures_changes_applied_total 3",
            "doisoat_live_figures_recomputes_total 1",
            "doisoat_db_pool_connections{pool=\"writer\",state=\"in_use\"} 3",
            "# EOF",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }
}
