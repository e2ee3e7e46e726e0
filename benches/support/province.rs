//! The province case on disk for the benchmarks, written by `doisoat fixtures` (the
//! generator is part of the CLI, not of the library). `#[path]`-included by the benches.
#![allow(dead_code)] // Each bench uses a different part.

use std::path::{Path, PathBuf};

pub const LIST_FILE: &str = "danh_sach_chi_tra.xlsx";
pub const AGRIBANK_FILE: &str = "ket_qua_agribank.xlsx";
pub const VIETINBANK_FILE: &str = "vietinbank_results.csv";
pub const OTHER_BANKS_FILE: &str = "ket_qua_ngan_hang_khac.xlsx";

/// The case ×`scale` in `dir` (written once; the generator is deterministic).
pub fn files(scale: u32, dir: &Path) -> PathBuf {
    if !dir.join(LIST_FILE).exists() {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_doisoat"))
            .args(["fixtures", "--scale", &scale.to_string(), "--out"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "doisoat fixtures --scale {scale}: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("doisoat fixtures: {e}"),
        }
    }
    dir.to_path_buf()
}
