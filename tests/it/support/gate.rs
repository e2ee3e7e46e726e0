//! Which tests run where. A plain `cargo test` on a developer's machine stays fast; CI runs
//! everything and never skips a test because something it needs is missing.
//!
//! - `ci()`: `CI` is set to anything but empty, `0` or `false` (what CI systems export;
//!   .ci/run's CI sets `CI=true`).
//! - `slow(name)`: the slow tests (a server killed and restarted, a browser driven through
//!   the pages) run under CI or when `DOISOAT_SLOW_TESTS=1`; otherwise they print a loud
//!   note and pass without running. Once they run, a missing prerequisite fails them.

use std::io::Write;

fn truthy(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| {
        let v = v.trim();
        !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
    })
}

/// Running under CI: nothing may be skipped for want of a prerequisite.
pub fn ci() -> bool {
    truthy("CI")
}

/// Whether the slow test `name` runs: under CI, or when asked with `DOISOAT_SLOW_TESTS=1`.
/// When it does not, says so loudly on the process's stderr (the harness captures the
/// output of a passing test, and this must be seen).
pub fn slow(name: &str) -> bool {
    if ci() || truthy("DOISOAT_SLOW_TESTS") {
        return true;
    }
    skipped(
        name,
        "a slow test: it runs under CI, or with DOISOAT_SLOW_TESTS=1 cargo test",
    );
    false
}

/// A loud note that `name` did not run, and why.
pub fn skipped(name: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !! SKIPPED {name}: {why}\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
}
