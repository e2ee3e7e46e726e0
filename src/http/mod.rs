//! The HTTP API (`/api/v1`) and its generated OpenAPI document. Assembled with the pages
//! by `crate::server`; it shares only `crate::app::AppState` with them.

pub mod audit;
pub mod auth;
pub mod callbacks;
pub mod error;
pub mod periods;
pub mod runs;
pub mod units;
pub mod uploads;

use axum::extract::DefaultBodyLimit;
use tower::limit::GlobalConcurrencyLimitLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "doisoat",
        description = "Đối soát chi trả an sinh xã hội không dùng tiền mặt / cashless welfare payment reconciliation"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "periods", description = "Kỳ chi trả / payment periods"),
        (name = "units", description = "Đơn vị hành chính và chế độ / administrative units and programmes"),
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
pub struct BodyLimits {
    pub upload: usize,
    /// One queue shared by every upload route (API and pages): each buffers a whole file.
    pub uploads_at_once: GlobalConcurrencyLimitLayer,
}

/// The API routes and their OpenAPI description, from the same annotations.
pub fn routes(limits: BodyLimits) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let uploads = OpenApiRouter::new()
        .routes(routes!(uploads::beneficiary_list))
        .routes(routes!(uploads::payout_file))
        .layer(DefaultBodyLimit::max(limits.upload))
        .layer(limits.uploads_at_once);
    let callbacks = OpenApiRouter::new()
        .routes(routes!(callbacks::payouts, callbacks::read_payouts))
        .layer(DefaultBodyLimit::max(
            crate::service::callbacks::MAX_BODY_BYTES,
        ));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(units::list))
        .routes(routes!(units::get))
        .routes(routes!(units::programmes, units::create_programme))
        .routes(routes!(periods::create, periods::list))
        .routes(routes!(periods::get))
        .routes(routes!(periods::uploads))
        .routes(routes!(periods::coverage))
        .routes(routes!(periods::coverage_units))
        .routes(routes!(periods::comparison))
        .routes(routes!(periods::targets))
        .routes(routes!(periods::unit_target, periods::set_unit_target))
        .merge(callbacks)
        .merge(uploads)
        .routes(routes!(uploads::get))
        .routes(routes!(uploads::make_current))
        .routes(routes!(uploads::retire))
        .routes(routes!(runs::create, runs::list))
        .routes(routes!(runs::get))
        .routes(routes!(runs::meta))
        .routes(routes!(runs::submit))
        .routes(routes!(runs::approve))
        .routes(routes!(runs::return_run))
        .routes(routes!(periods::reopen))
        .routes(routes!(periods::carry_over))
        .routes(routes!(periods::arrears))
        .routes(routes!(periods::payment_orders))
        .routes(routes!(runs::compare))
        .routes(routes!(runs::exceptions))
        .routes(routes!(runs::resolutions, runs::resolve))
        .routes(routes!(runs::report_json))
        .routes(routes!(runs::report_csv))
        .routes(routes!(runs::report_xlsx))
        .routes(routes!(runs::follow_up))
        .routes(routes!(runs::exceptions_csv))
        .routes(routes!(runs::exceptions_xlsx))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .split_for_parts()
}

/// The OpenAPI document served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes(BodyLimits {
        upload: 0,
        uploads_at_once: GlobalConcurrencyLimitLayer::new(1),
    })
    .1
}
