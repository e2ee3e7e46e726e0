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
