//! Logging. Every line goes through a writer that masks long digit runs, so no full
//! personal ID (12 digits), CMND (9) or account number reaches the logs, whatever code
//! logged it: all but the last 4 digits become `*`.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Digit runs this long or longer are masked.
const MASK_FROM: usize = 9;

pub fn mask_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= MASK_FROM {
            out.extend(std::iter::repeat_n('*', run.len() - 4));
            out.push_str(&run[run.len() - 4..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// stderr, one formatted event at a time, masked.
#[derive(Clone, Copy)]
pub struct Redacting;

pub struct RedactingWriter(Vec<u8>);

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let _ = io::stderr().write_all(mask_digits(&text).as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(Vec::with_capacity(256))
    }
}

/// Install the global subscriber: `DOISOAT_LOG` (or `RUST_LOG`) filters, default `info`.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("DOISOAT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colour only for a person at a terminal: escapes in a redirected log or a pipe are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&io::stderr()))
        .with_writer(Redacting);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_accounts_are_masked() {
        assert_eq!(mask_digits("id=037153000257 ok"), "id=********0257 ok");
        assert_eq!(mask_digits("cmnd 012345678"), "cmnd *****5678");
        assert_eq!(mask_digits("acct 4200205123456,"), "acct *********3456,");
        // Short numbers (counts, ports, years) stay.
        assert_eq!(
            mask_digits("26794 rows, port 8080, 2024-09-16"),
            "26794 rows, port 8080, 2024-09-16"
        );
    }
}
