//! One reader of upload forms (multipart) for the API and the pages: the file parts, the
//! bank, the unit, the confirmation. Each file is bounded by the upload limit (the body limit stops a
//! larger one as it streams in); names keep only their base name, as reports and messages
//! show them.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;

use crate::service::{Spool, Spooled};

/// An upload form as read.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// In the order sent. `sent_name` is the name as the browser sent it (a form submitted
    /// with no file chosen sends one empty, nameless part).
    pub files: Vec<UploadedFile>,
    /// The bank of payout files without a bank column, as typed (trimmed, never empty).
    pub bank: Option<String>,
    /// The uploader confirmed a list whose title names another period or place.
    pub confirm: bool,
    /// The unit the upload is for, as sent (trimmed, never empty, at most 64 characters).
    pub unit: Option<String>,
}

#[derive(Debug)]
pub struct UploadedFile {
    /// The base name (`upload` when the sender gave none).
    pub name: String,
    pub sent_name: String,
    /// In memory while small, on disk past `spool::IN_MEMORY`.
    pub body: Spooled,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadFormError {
    /// The body broke off or is not well-formed multipart; a body over the limit shows
    /// here with status 413.
    #[error("multipart: {}", .0.body_text())]
    Multipart(#[from] MultipartError),
    /// One file over the upload limit.
    #[error("file too large")]
    FileTooLarge,
    /// The temporary file a large upload is spooled to could not be written.
    #[error("temporary file: {0}")]
    Spool(#[from] std::io::Error),
    /// The guard refused the first field (or the body ended before it).
    #[error("refused by the form's guard")]
    Refused,
}

/// Given the first field's name and text: may the form be read on?
pub type FirstFieldGuard<'a> = dyn Fn(Option<&str>, Option<&str>) -> bool + Sync + 'a;

/// Where the files are and what must come first.
pub struct FormShape<'a> {
    /// The file parts' field name: `file` (API), `files` (pages).
    pub file_field: &'a str,
    /// Checked on the first field (its name and, when it is not a file, at most 256 bytes
    /// of its text) before anything else is read: the pages' CSRF token. A multipart error
    /// before it passes is `Refused` too, so an unauthenticated body is never read further.
    pub guard: Option<&'a FirstFieldGuard<'a>>,
}

/// `1`, `true`, `on`, `yes`: what a checkbox or a client sends for "confirmed".
fn is_yes(text: &str) -> bool {
    matches!(text.trim(), "1" | "true" | "on" | "yes")
}

/// The base name of a sent file name; `upload` when there is none.
fn base_name(sent: &str) -> String {
    match sent.rsplit(['/', '\\']).next() {
        Some(b) if !b.is_empty() => b.to_owned(),
        _ => "upload".to_owned(),
    }
}

pub async fn read_upload_form(
    mut multipart: Multipart,
    limit: usize,
    shape: FormShape<'_>,
) -> Result<UploadForm, UploadFormError> {
    let mut form = UploadForm::default();
    let mut guarded = shape.guard.is_none();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) if !guarded => return Err(UploadFormError::Refused),
            Err(e) => return Err(e.into()),
        };
        if !guarded {
            let name = field.name().map(str::to_owned);
            let value = if field.file_name().is_none() {
                field.text().await.ok().filter(|t| t.len() <= 256)
            } else {
                None
            };
            if !shape
                .guard
                .is_some_and(|g| g(name.as_deref(), value.as_deref()))
            {
                return Err(UploadFormError::Refused);
            }
            guarded = true;
            continue;
        }
        match field.name() {
            Some(n) if n == shape.file_field => {
                let sent_name = field.file_name().unwrap_or("").to_owned();
                let mut field = field;
                let mut spool = Spool::default();
                while let Some(piece) = field.chunk().await? {
                    if spool.len() + piece.len() as u64 > limit as u64 {
                        return Err(UploadFormError::FileTooLarge);
                    }
                    spool.write(&piece)?;
                }
                form.files.push(UploadedFile {
                    name: base_name(&sent_name),
                    sent_name,
                    body: spool.finish()?,
                });
            }
            Some("bank") => {
                let t = field.text().await?;
                form.bank = Some(t.trim().to_owned()).filter(|b| !b.is_empty());
            }
            Some("confirm") => form.confirm = is_yes(&field.text().await?),
            Some("unit") => {
                let t = field.text().await?;
                form.unit =
                    Some(t.trim().chars().take(64).collect()).filter(|u: &String| !u.is_empty());
            }
            _ => {}
        }
    }
    if !guarded {
        return Err(UploadFormError::Refused);
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_base_and_confirmations_read_as_a_person_means_them() {
        assert_eq!(base_name("C:\\Users\\kt\\danh sách.xlsx"), "danh sách.xlsx");
        assert_eq!(base_name("a/b/ket_qua.csv"), "ket_qua.csv");
        assert_eq!(base_name(""), "upload");
        assert_eq!(base_name("thu_muc/"), "upload");
        for yes in ["1", "true", "on", "yes", " true "] {
            assert!(is_yes(yes), "{yes}");
        }
        for no in ["", "0", "false", "off", "no", "TRUE!"] {
            assert!(!is_yes(no), "{no}");
        }
    }
}
