//! doisoat — đối soát chi trả an sinh xã hội không dùng tiền mặt.
//!
//! Layers point down: `domain` (pure rules) ← `import` (files → typed rows) and
//! `recon` (pure engine) ← `report` (writers) ← the CLI in `main.rs`.

pub mod domain;
pub mod fixtures;
pub mod import;
pub mod job;
pub mod recon;
pub mod report;
