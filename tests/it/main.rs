//! doisoat's integration tests, as one test binary (one link instead of ten; issue 10).
//! A module per area; the shared harness is `support` (the in-process `TestApp` over a fresh
//! database per test and backend, the load client and server guard, PostgreSQL test databases,
//! the sample's figures and the workbook bombs).
//!
//!   cargo test --test it store::    # one area

// Test code may unwrap and expect (clippy.toml allows it in #[test] functions); the harness
// and the helpers the tests share are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod api;
mod callbacks;
mod cli;
mod crash;
mod hardening;
mod import_robustness;
mod real_files;
mod store;
mod web;
mod web_e2e;
