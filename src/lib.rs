//! doisoat — đối soát chi trả an sinh xã hội không dùng tiền mặt.
//!
//! Layers point down: `domain` (pure rules) ← `import` (files → typed rows) and
//! `recon` (pure engine) ← `report` (writers) ← the CLI in `main.rs`.

pub mod audit;
pub mod callbacks;
pub mod config;
pub mod domain;
pub mod fixtures;
pub mod http;
pub mod import;
pub mod job;
pub mod recon;
pub mod report;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
pub mod webhook;
