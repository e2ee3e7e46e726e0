//! Engine throughput: 1,000,000 beneficiaries × 1,000,000 payouts (target ≤ 2 s on 2 cores).
//! `cargo bench --bench engine`

use std::sync::{Arc, LazyLock};

use doisoat::domain::banks::BankId;
use doisoat::domain::population_id::IdCheck;
use doisoat::domain::records::{BeneficiaryRow, PayoutRow, RowRef};
use doisoat::domain::status::PayoutStatus;
use doisoat::recon::{Options, reconcile};
use rust_decimal::Decimal;

const N: usize = 1_000_000;
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương",
];
const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
];

struct Case {
    list: Vec<BeneficiaryRow>,
    payouts: Vec<PayoutRow>,
}

/// A realistic mix: most payouts carry the ID, some only the account; bank names are
/// often upper-case without diacritics (so names are folded), some payouts fail.
static CASE: LazyLock<Case> = LazyLock::new(|| {
    let banks: Vec<BankId> = ["Agribank", "VietinBank", "BIDV", "LPBank", "VBSP"]
        .iter()
        .filter_map(|b| BankId::resolve(b))
        .collect();
    let list_file: Arc<str> = Arc::from("danh_sach.xlsx");
    let pay_file: Arc<str> = Arc::from("ket_qua.xlsx");
    let mut list = Vec::with_capacity(N);
    let mut payouts = Vec::with_capacity(N);
    for i in 0..N {
        let name = format!(
            "{} {} {}",
            FAMILY[i % FAMILY.len()],
            if i % 2 == 0 { "Văn" } else { "Thị" },
            GIVEN[(i / 7) % GIVEN.len()]
        );
        let id = format!(
            "0{:02}{}{:02}{:06}",
            25 + i / 1_000_000,
            i % 2,
            30 + i % 60,
            i % 1_000_000
        );
        let bank = banks[i % banks.len()];
        let account = format!("42{:011}", i);
        let due = Decimal::from(1_500_000 + 750_000 * (i % 3) as i64);
        list.push(BeneficiaryRow {
            source: RowRef::new(list_file.clone(), i as u32 + 10),
            id: IdCheck::from_text(&id, 2026),
            name: name.clone(),
            amount_due: due,
            account: Some(account.clone()),
            bank: Some(bank),
            birth: None,
            sex: None,
            category: Some(
                ["Người cao tuổi", "Người khuyết tật nặng", "Trẻ em mồ côi"][i % 3].to_owned(),
            ),
            commune: Some(format!("Xã số {}", i % 150)),
        });
        let bank_name = if i % 2 == 0 {
            doisoat::domain::names::fold(&name).to_uppercase()
        } else {
            name
        };
        payouts.push(PayoutRow {
            source: RowRef::new(pay_file.clone(), i as u32 + 8),
            bank,
            reference: Some(format!("FT{i:010}")),
            id: if i % 20 == 0 {
                IdCheck::Missing
            } else {
                IdCheck::from_text(&id, 2026)
            },
            account: Some(account),
            name: Some(bank_name),
            amount: due,
            status: if i % 50 == 0 {
                PayoutStatus::Failed
            } else {
                PayoutStatus::Success
            },
            value_date: None,
            origin: doisoat::domain::records::PayoutOrigin::File,
            reason: None,
        });
    }
    Case { list, payouts }
});

fn main() {
    LazyLock::force(&CASE);
    divan::main();
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn reconcile_1m_x_1m() -> usize {
    let r = reconcile(
        divan::black_box(CASE.list.as_slice()),
        divan::black_box(CASE.payouts.as_slice()),
        &Options::default(),
    );
    assert_eq!(r.totals.beneficiaries, N as u64);
    r.beneficiaries.len()
}

/// Baseline in the same run: the floor any ID-linking engine pays, index 1M IDs in a
/// hash map and probe it with 1M payouts, summing the amounts that hit.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn baseline_hash_join_floor() -> Decimal {
    let mut index: rustc_hash::FxHashMap<u64, usize> = rustc_hash::FxHashMap::default();
    index.reserve(N);
    for (i, b) in CASE.list.iter().enumerate() {
        if let Some(id) = b.id.valid() {
            index.insert(id.value(), i);
        }
    }
    let mut paid = vec![Decimal::ZERO; N];
    for p in divan::black_box(&CASE.payouts) {
        if let Some(i) = p.id.valid().and_then(|id| index.get(&id.value())) {
            paid[*i] += p.amount;
        }
    }
    paid.iter().sum()
}
