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
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::callbacks::CallbackQueue;
use crate::config::Config;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// The group-commit writer for bank callbacks.
    pub callbacks: CallbackQueue,
}

impl AppState {
    /// Starts the callback writer: call inside a Tokio runtime.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        AppState {
            callbacks: CallbackQueue::start(store.clone()),
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

/// The API routes and their OpenAPI description, from the same annotations.
fn api() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(periods::create, periods::list))
        .routes(routes!(periods::get))
        .routes(routes!(periods::uploads))
        .routes(routes!(periods::coverage))
        .routes(routes!(callbacks::payouts))
        .routes(routes!(uploads::beneficiary_list))
        .routes(routes!(uploads::payout_file))
        .routes(routes!(uploads::get))
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
    api().1
}

/// The whole application, ready to serve or to test with `oneshot`.
pub fn app(state: AppState) -> axum::Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    // Room for the multipart envelope around a file of the maximum size; the handler
    // checks the file itself against the exact limit.
    let body_limit = state.config.max_upload_bytes + 64 * 1024;
    let timeout = state.config.request_timeout;
    let pages = crate::web::router(state.config.max_upload_bytes);
    api.merge(pages)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/api/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .layer(DefaultBodyLimit::max(body_limit))
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

/// Serve until Ctrl-C or SIGTERM, then drain in-flight requests.
pub async fn serve(config: Config, store: Arc<dyn Store>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    tracing::info!(addr = %listener.local_addr()?, database = store.backend(), "doisoat serving");
    let state = AppState::new(store, config);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
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
