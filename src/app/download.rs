//! A run's download as an HTTP response, the same for the API and the pages.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::service::{Download, DownloadBody};

/// Its type and file name, its length when known, the bytes as they are made.
pub fn response(what: Download, run_id: i64, body: DownloadBody) -> Response {
    named(what.content_type(), &what.file_name(run_id), body)
}

/// A run's exceptions as a page filtered them: `xlsx` or CSV.
pub fn view_response(xlsx: bool, run_id: i64, body: DownloadBody) -> Response {
    let (what, ext) = if xlsx {
        (Download::Xlsx, "xlsx")
    } else {
        (Download::Csv, "csv")
    };
    named(
        what.content_type(),
        &format!("doisoat-{run_id}-ngoai-le-da-loc.{ext}"),
        body,
    )
}

/// A period's comparison with the previous one, as CSV.
pub fn comparison_response(period_id: i64, unit: &str, body: DownloadBody) -> Response {
    let unit: String = unit.chars().filter(char::is_ascii_alphanumeric).collect();
    named(
        Download::Csv.content_type(),
        &format!("doisoat-ky-{period_id}-{unit}-so-voi-ky-truoc.csv"),
        body,
    )
}

fn named(content_type: &str, file_name: &str, body: DownloadBody) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut res = (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
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
