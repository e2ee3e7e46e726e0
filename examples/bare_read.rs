//! Baseline for `hyperfine`: read files the barest way (calamine's first sheet into a
//! range; csv records), doing nothing with the cells. Compare with `doisoat reconcile`
//! on the same files:
//!   cargo build --release --examples
//!   hyperfine './target/release/examples/bare_read F1 F2…' './target/release/doisoat reconcile …'

use calamine::Reader;

fn main() {
    let mut cells = 0usize;
    for path in std::env::args().skip(1) {
        let path = path
            .split_once('=')
            .map_or(path.as_str(), |(_, p)| p)
            .to_owned();
        if path.ends_with(".csv") {
            let mut r = match csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(&path)
            {
                Ok(r) => r,
                Err(e) => panic!("{path}: {e}"),
            };
            cells += r
                .records()
                .filter_map(Result::ok)
                .map(|rec| rec.len())
                .sum::<usize>();
        } else {
            let mut wb = match calamine::open_workbook_auto(&path) {
                Ok(wb) => wb,
                Err(e) => panic!("{path}: {e}"),
            };
            if let Some(Ok(range)) = wb.worksheet_range_at(0) {
                cells += range.get_size().0 * range.get_size().1;
            }
        }
    }
    println!("{cells} cells");
}
