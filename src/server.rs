//! The router (API, pages, health checks, the OpenAPI document, the shared limits) and the
//! connection loop. `api` (`crate::http`) and `web` know nothing of each other; this module
//! puts them together.

use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::config::Config;
use crate::http::{self, BodyLimits};
use crate::store::Store;

/// Forms and JSON bodies that are not files: a period, a sign-in, a run. The upload and
/// callback routes set their own, larger limits.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The whole application, ready to serve or to test with `oneshot`.
pub fn router(state: AppState) -> axum::Router {
    // Room for the multipart envelope around a file of the maximum size; the handler
    // checks the file itself against the exact limit.
    let upload = state.config.max_upload_bytes + 64 * 1024;
    let uploads_at_once = GlobalConcurrencyLimitLayer::new(state.config.max_concurrent_uploads);
    let (api, doc) = http::routes(BodyLimits {
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
        .route("/metrics", get(metrics_for_admins))
        // Matched routes only: their pattern, never a path with its ids, labels the metrics.
        .route_layer(axum::middleware::from_fn(count_request))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Every answered request, by method, route pattern and status, with its latency.
async fn count_request(
    route: axum::extract::MatchedPath,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    crate::metrics::global().request(
        method.as_str(),
        route.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The metrics as text, the pools read now.
async fn metrics_text(store: &dyn Store) -> axum::response::Response {
    let m = crate::metrics::global();
    for pool in store.pools() {
        m.pool(pool.name, pool.size, pool.idle);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        m.render(),
    )
        .into_response()
}

/// `GET /metrics` on the service's address: for admin tokens (`DOISOAT_METRICS_BIND` serves
/// it without one on an internal address).
async fn metrics_for_admins(
    State(st): State<AppState>,
    auth: http::auth::Auth,
) -> Result<axum::response::Response, http::error::AppError> {
    auth.require_admin()?;
    Ok(metrics_text(st.store.as_ref()).await)
}

/// `DOISOAT_METRICS_BIND`: `GET /metrics` alone, without a token, for a scraper on an
/// internal network.
async fn serve_metrics(listener: tokio::net::TcpListener, store: Arc<dyn Store>) {
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let store = store.clone();
            async move { metrics_text(store.as_ref()).await }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
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
    // Bound before serving, so an address that cannot be had stops the start.
    if let Some(addr) = config.metrics_bind {
        let metrics = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics serving");
        tokio::spawn(serve_metrics(metrics, store.clone()));
    }
    crate::app::spawn_live_refresher(store.clone(), config.live_refresh);
    let header_timeout = config.header_read_timeout;
    let drain = config.request_timeout;
    let router = router(AppState::new(store, config));
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
