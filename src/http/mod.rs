//! The HTTP API (`/api/v1`), health checks and the generated OpenAPI document.

pub mod audit;
pub mod auth;
pub mod callbacks;
pub mod error;
pub mod periods;
pub mod runs;
pub mod uploads;

use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::callbacks::CallbackQueue;
use crate::config::Config;
use crate::service::ImportGate;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// The group-commit writer for bank callbacks.
    pub callbacks: CallbackQueue,
    /// Upload imports: their budget and how many run at once.
    pub imports: ImportGate,
    /// Period codes known to exist (periods are never deleted), so a bank's stream of
    /// callbacks costs no period lookup each.
    pub periods_seen: PeriodsSeen,
}

/// A set of period codes seen to exist; only ever grows, so it is never stale.
#[derive(Clone, Default)]
pub struct PeriodsSeen(Arc<std::sync::RwLock<std::collections::HashSet<String>>>);

impl PeriodsSeen {
    pub fn contains(&self, code: &str) -> bool {
        self.0.read().is_ok_and(|s| s.contains(code))
    }

    pub fn insert(&self, code: &str) {
        if let Ok(mut s) = self.0.write() {
            // Bounded by the number of periods, which is small; guard anyway.
            if s.len() < 100_000 {
                s.insert(code.to_owned());
            }
        }
    }
}

impl AppState {
    /// Starts the callback writer: call inside a Tokio runtime.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        AppState {
            callbacks: CallbackQueue::start(store.clone()),
            imports: ImportGate::new(
                config.max_uncompressed_bytes,
                config.max_cells,
                config.max_concurrent_imports,
            ),
            periods_seen: PeriodsSeen::default(),
            store,
            config: Arc::new(config),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "doisoat",
        description = "Đối soát chi trả an sinh xã hội không dùng tiền mặt / cashless welfare payment reconciliation"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "periods", description = "Kỳ chi trả / payment periods"),
        (name = "uploads", description = "Danh sách và kết quả chi / lists and bank result files"),
        (name = "reconciliations", description = "Đối soát / reconciliation runs"),
        (name = "downloads", description = "Báo cáo / reports"),
        (name = "audit", description = "Nhật ký kiểm toán / audit trail"),
        (name = "callbacks", description = "Kết quả chi từ ngân hàng (có ký) / signed bank payout results"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// Request bodies a route may read. Uploads get the upload limit (plus the multipart
/// envelope), callbacks a limit fitted to a full batch, everything else a small form's: no
/// body is read, by anyone, beyond what its route can use.
#[derive(Clone)]
struct BodyLimits {
    upload: usize,
    /// One queue shared by every upload route (API and pages): each buffers a whole file.
    uploads_at_once: GlobalConcurrencyLimitLayer,
}

/// Forms and JSON bodies that are not files: a period, a sign-in, a run.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The API routes and their OpenAPI description, from the same annotations.
fn api(limits: BodyLimits) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let uploads = OpenApiRouter::new()
        .routes(routes!(uploads::beneficiary_list))
        .routes(routes!(uploads::payout_file))
        .layer(DefaultBodyLimit::max(limits.upload))
        .layer(limits.uploads_at_once);
    let callbacks = OpenApiRouter::new()
        .routes(routes!(callbacks::payouts))
        .layer(DefaultBodyLimit::max(crate::callbacks::MAX_BODY_BYTES));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(periods::create, periods::list))
        .routes(routes!(periods::get))
        .routes(routes!(periods::uploads))
        .routes(routes!(periods::coverage))
        .merge(callbacks)
        .merge(uploads)
        .routes(routes!(uploads::get))
        .routes(routes!(uploads::make_current))
        .routes(routes!(uploads::retire))
        .routes(routes!(runs::create, runs::list))
        .routes(routes!(runs::get))
        .routes(routes!(runs::meta))
        .routes(routes!(runs::exceptions))
        .routes(routes!(runs::report_json))
        .routes(routes!(runs::report_csv))
        .routes(routes!(runs::report_xlsx))
        .routes(routes!(runs::follow_up))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .split_for_parts()
}

/// The OpenAPI document served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(BodyLimits {
        upload: 0,
        uploads_at_once: GlobalConcurrencyLimitLayer::new(1),
    })
    .1
}

/// The whole application, ready to serve or to test with `oneshot`.
pub fn app(state: AppState) -> axum::Router {
    // Room for the multipart envelope around a file of the maximum size; the handler
    // checks the file itself against the exact limit.
    let upload = state.config.max_upload_bytes + 64 * 1024;
    let uploads_at_once = GlobalConcurrencyLimitLayer::new(state.config.max_concurrent_uploads);
    let (api, doc) = api(BodyLimits {
        upload,
        uploads_at_once: uploads_at_once.clone(),
    });
    let doc = Arc::new(doc);
    let timeout = state.config.request_timeout;
    let pages = crate::web::router(state.config.max_upload_bytes, uploads_at_once);
    api.merge(pages)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/api/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    match st.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ok", "database": st.store.backend() })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "database": st.store.backend() }),
                ),
            )
        }
    }
}

/// Serve until Ctrl-C or SIGTERM, then drain in-flight requests (for at most the request
/// timeout). A client has `header_read_timeout` to send its request head: connections that
/// trickle bytes to hold a slot are closed.
pub async fn serve(config: Config, store: Arc<dyn Store>) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    tracing::info!(addr = %listener.local_addr()?, database = store.backend(), "doisoat serving");
    let header_timeout = config.header_read_timeout;
    let drain = config.request_timeout;
    let router = app(AppState::new(store, config));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(|req: axum::http::Request<hyper::body::Incoming>| {
                    req.map(axum::body::Body::new)
                });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => tracing::warn!("shutdown: requests still running after {drain:?}"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining requests");
}
