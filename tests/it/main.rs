//! doisoat's integration tests, as one test binary (one link instead of ten; issue 10).
//! A module per area; the shared harness is `support` (the in-process `TestApp` over a fresh
//! database per test and backend, the load client and server guard, PostgreSQL test databases,
//! the sample's figures and the workbook bombs).
//!
//!   cargo test                          # all but the slow tests, which say loudly they were skipped
//!   cargo test --test it store::        # one area
//!   DOISOAT_SLOW_TESTS=1 cargo test     # the slow ones too (what CI runs, `CI` set)
//!
//! The slow tests (`crash`: a server killed and restarted; `web_e2e`: Chromium driven through
//! the pages) run only under CI or when asked; then a missing prerequisite fails them, as the
//! real-file tests fail under CI without ../shared/real (`support::gate`).

// Test code may unwrap and expect (clippy.toml allows it in #[test] functions); the harness
// and the helpers the tests share are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod api;
mod approvals;
mod arrears;
mod backup;
mod bank_formats;
mod callbacks;
mod cli;
mod comparison;
mod crash;
mod hardening;
mod import_robustness;
mod live;
mod metrics;
mod real_files;
mod resolutions;
mod rollups;
mod scale_out;
mod store;
mod units;
mod web;
mod web_e2e;
