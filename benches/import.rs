//! Import of a 100,000-row office list, next to calamine's bare read of the same file
//! (target: within 1.5×). `cargo bench --bench import`

use std::path::PathBuf;
use std::sync::LazyLock;

use calamine::Reader;
use doisoat::import::{ImportOptions, import_beneficiaries};

#[path = "support/province.rs"]
mod province;

/// The province case ×4: a 107,236-row list in the office layout.
static LIST: LazyLock<PathBuf> = LazyLock::new(|| {
    province::files(4, &std::env::temp_dir().join("doisoat-bench-import")).join(province::LIST_FILE)
});

fn main() {
    LazyLock::force(&LIST);
    divan::main();
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn calamine_bare_read() -> usize {
    let mut wb = match calamine::open_workbook_auto(&*LIST) {
        Ok(wb) => wb,
        Err(e) => panic!("{e}"),
    };
    match wb.worksheet_range_at(0) {
        Some(Ok(range)) => range.height(),
        _ => panic!("no sheet"),
    }
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn doisoat_import_list() -> usize {
    let bytes = std::fs::read(&*LIST).unwrap_or_default();
    match import_beneficiaries("danh_sach_chi_tra.xlsx", bytes, &ImportOptions::new(2026)) {
        Ok(imported) => imported.rows.len(),
        Err(e) => panic!("{e}"),
    }
}
