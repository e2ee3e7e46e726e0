//! Files in from the period page (CSRF first, then the files), and an upload made current
//! again or retired.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::error::{OrPage, PageError, PageResult, WebError};
use super::period::{Message, PeriodQuery, period_page};
use super::{CsrfForm, check_post, csrf_of, require_write, see_other};
use crate::app::AppState;
use crate::app::upload_form::{FormShape, UploadForm, UploadFormError, read_upload_form};
use crate::domain::banks::BankId;
use crate::service::{self, ServiceError, UploadRequest};
use crate::store::UploadKind;
use crate::web::i18n::Tr;
use crate::web::session::{Viewer, cross_site_post};

/// Read an upload form. Its first field must be the session's CSRF token (the forms put
/// it first): nothing after it, no file, is read into memory before the token checks out.
async fn read_upload_parts(
    multipart: Result<Multipart, MultipartRejection>,
    limit: usize,
    v: &Viewer,
) -> Result<UploadForm, WebError> {
    let t = Tr { lang: v.lang };
    let too_large = || {
        WebError::BadRequest(format!(
            "{} {} MB.",
            t.pick(
                "Tệp quá lớn; mỗi tệp tối đa",
                "File too large; each file may be at most"
            ),
            limit / (1024 * 1024)
        ))
    };
    let multipart = multipart.map_err(|_| WebError::Csrf)?;
    let csrf = |name: Option<&str>, token: Option<&str>| name == Some("csrf") && v.csrf_ok(token);
    let shape = FormShape {
        file_field: "files",
        guard: Some(&csrf),
    };
    let mut form = read_upload_form(multipart, limit, shape)
        .await
        .map_err(|e| match e {
            UploadFormError::Refused => WebError::Csrf,
            UploadFormError::FileTooLarge => too_large(),
            UploadFormError::Multipart(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large()
            }
            UploadFormError::Multipart(e) => WebError::BadRequest(e.body_text()),
            UploadFormError::Spool(e) => WebError::Internal(format!("upload spool: {e}")),
        })?;
    // A form submitted with no file chosen sends one empty, nameless part.
    form.files
        .retain(|f| !(f.sent_name.is_empty() && f.body.is_empty()));
    Ok(form)
}

async fn upload(
    st: AppState,
    headers: HeaderMap,
    v: Viewer,
    id: i64,
    kind: UploadKind,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let lang = v.lang;
    let t = Tr { lang };
    // Session (the Viewer), origin and role are checked before the body is read.
    if cross_site_post(&headers) {
        return Err(PageError(WebError::Csrf, lang));
    }
    require_write(&v)?;
    let parts = read_upload_parts(multipart, st.config.max_upload_bytes, &v)
        .await
        .map_err(|e| PageError(e, lang))?;
    let q = PeriodQuery::default();
    if parts.files.is_empty() {
        let msg = Message {
            ok: false,
            text: t.s("period.no_files").to_owned(),
        };
        return period_page(&st, &v, id, &q, vec![msg], StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // Each list replaces the current one: several at once would silently keep the last.
    if kind == UploadKind::Beneficiaries && parts.files.len() > 1 {
        let msg = Message {
            ok: false,
            text: t.s("period.one_list").to_owned(),
        };
        return period_page(&st, &v, id, &q, vec![msg], StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let bank = match parts.bank.as_deref() {
        None => None,
        Some(b) => match BankId::resolve(b) {
            Some(bank) => Some(bank),
            None => {
                let msg = Message {
                    ok: false,
                    text: format!(
                        "{}: '{b}'",
                        t.pick("Không nhận ra ngân hàng", "Unknown bank")
                    ),
                };
                return period_page(&st, &v, id, &q, vec![msg], StatusCode::UNPROCESSABLE_ENTITY)
                    .await;
            }
        },
    };
    let unit = match parts.unit.as_deref() {
        None => v.token().unit.clone(),
        Some(u) => match crate::domain::units::shipped_tree().get(u) {
            Some(unit) if v.token().sees(&unit.code) => unit.code.clone(),
            _ => return Err(PageError(WebError::Forbidden, lang)),
        },
    };
    let mut messages = Vec::new();
    let mut stored = Vec::new();
    let mut failed = false;
    for file in parts.files {
        let file_name = file.name;
        let req = UploadRequest {
            period_id: id,
            file_name: file_name.clone(),
            body: file.body,
            bank,
            unit: unit.clone(),
            actor: v.actor(),
            confirmed: parts.confirm,
        };
        match service::upload(st.store.as_ref(), kind, req, &st.imports).await {
            Ok(saved) => {
                stored.push(saved.value.id);
                let what = if saved.created {
                    t.s("period.uploaded_ok")
                } else {
                    t.s("period.upload_same")
                };
                messages.push(Message {
                    ok: true,
                    text: format!("{what}: {file_name}"),
                });
            }
            // Said to a page user, in the page's language: what to do here.
            Err(ServiceError::Import(crate::import::ImportError::NoBank { .. })) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!(
                        "{file_name}: {}",
                        t.pick(
                            "tệp không có cột Ngân hàng, tiêu đề tệp không ghi tên ngân hàng, và số tài khoản trong tệp không cho biết chắc là của ngân hàng nào theo danh sách đối tượng. Hãy chọn ngân hàng ở ô \"Ngân hàng (khi tệp không có cột ngân hàng)\" rồi tải lên lại.",
                            "the file has no Bank column, its title names no bank, and its account numbers do not tell one bank from the beneficiary list. Choose the bank in the \"Bank (when the file has no bank column)\" box and upload again.",
                        )
                    ),
                });
            }
            Err(ServiceError::Import(e)) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!("{} {file_name}: {e}", t.s("period.upload_failed")),
                });
            }
            Err(ServiceError::NeedsConfirmation(warnings)) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!(
                        "{file_name}: {} {}",
                        warnings.join("; "),
                        t.s("period.confirm_help")
                    ),
                });
            }
            // The period closed for the unit: which approved run closed it, since when.
            Err(closed @ ServiceError::Closed { .. }) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!("{} {file_name}: {closed}", t.s("period.upload_failed")),
                });
            }
            // Another unit's list in the way (or the same file stored for another unit).
            Err(ServiceError::Store(crate::store::StoreError::Conflict(why))) => {
                failed = true;
                messages.push(Message {
                    ok: false,
                    text: format!("{} {file_name}: {why}", t.s("period.upload_failed")),
                });
            }
            Err(e) => return Err(PageError(e.into(), lang)),
        }
    }
    let ids = stored
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if failed {
        // Show what failed and why on the page itself; files that were read are stored.
        let mut q = PeriodQuery {
            uploaded: Some(ids),
            ..PeriodQuery::default()
        };
        q.filters.unit = Some(unit);
        return period_page(&st, &v, id, &q, messages, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    Ok(see_other(&format!(
        "/periods/{id}?unit={unit}&uploaded={ids}#uploads"
    )))
}

pub async fn upload_list(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    upload(st, headers, v, id, UploadKind::Beneficiaries, multipart).await
}

pub async fn upload_payouts(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    upload(st, headers, v, id, UploadKind::Payouts, multipart).await
}

/// An upload the viewer may change: not found when there is none, forbidden when it is
/// another unit's.
async fn writable_upload(st: &AppState, v: &Viewer, id: i64) -> Result<(), PageError> {
    let u = st.store.get_upload(id).await.or_page(v.lang)?;
    match u {
        None => Err(PageError(WebError::NotFound, v.lang)),
        Some(u) if !v.token().sees(&u.unit) => Err(PageError(WebError::Forbidden, v.lang)),
        Some(_) => Ok(()),
    }
}

/// `POST /uploads/{id}/make-current`: this list becomes its period's current list again.
pub async fn make_current(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    check_post(&v, &headers, csrf_of(&form))?;
    require_write(&v)?;
    writable_upload(&st, &v, id).await?;
    let u = service::make_current(st.store.as_ref(), id, &v.actor())
        .await
        .or_page(v.lang)?;
    Ok(see_other(&format!(
        "/periods/{}?uploaded={}&done=current#uploads",
        u.period_id, u.id
    )))
}

/// `POST /uploads/{id}/retire`: the upload's rows stop counting.
pub async fn retire(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    check_post(&v, &headers, csrf_of(&form))?;
    require_write(&v)?;
    writable_upload(&st, &v, id).await?;
    let u = service::retire_upload(st.store.as_ref(), id, &v.actor())
        .await
        .or_page(v.lang)?;
    Ok(see_other(&format!(
        "/periods/{}?uploaded={}&done=retired#uploads",
        u.period_id, u.id
    )))
}
