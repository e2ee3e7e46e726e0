//! A run's download as an HTTP response, the same for the API and the pages.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::service::{Download, DownloadBody};

/// Its type and file name, its length when known, the bytes as they are made.
pub fn response(what: Download, run_id: i64, body: DownloadBody) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", what.file_name(run_id));
    let mut res = (
        [
            (header::CONTENT_TYPE, what.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body.stream),
    )
        .into_response();
    if let Some(len) = body.len {
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    res
}
