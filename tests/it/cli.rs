//! The CLI binary on the shipped samples and on the generated province case.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::sample;

fn doisoat(args: &[&str]) -> Output {
    doisoat_in(Path::new("."), args)
}

/// `doisoat` run in `dir` (relative file names resolve there).
fn doisoat_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doisoat"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("cannot run doisoat")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The run failed and its message names `what`.
fn said_on_stderr(out: &Output, what: &str) {
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains(what), "{said}");
}

/// `doisoat reconcile` on the shipped samples, with `extra` arguments.
fn run_sample(extra: &[&str]) -> Output {
    let mut args = sample_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    doisoat(&args)
}

fn sample_args() -> Vec<String> {
    vec![
        "reconcile".into(),
        "--beneficiaries".into(),
        fixture("danh_sach_xa_tan_lap.xlsx"),
        "--payouts".into(),
        format!("Agribank={}", fixture("ket_qua_agribank.xlsx")),
        "--payouts".into(),
        fixture("ket_qua_ngan_hang.csv"),
    ]
}

#[test]
fn sample_files_give_the_hand_computed_figures() {
    let r = json(&run_sample(&["--json"]));

    sample::check_sample_report(&r);
}

#[test]
fn human_summary_is_vietnamese() {
    let out = run_sample(&[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Có tài khoản: 10/11 (90,91%)"), "{text}");
    assert!(
        text.contains("Đã chi trả không dùng tiền mặt: 7/10 (70,00%)"),
        "{text}"
    );
    assert!(
        text.contains("Tổng số tiền phải chi: 21.000.000 ₫"),
        "{text}"
    );
    assert!(
        text.contains("phải chi qua tài khoản: 19.500.000 ₫"),
        "{text}"
    );
    assert!(
        text.contains("phải chi bằng tiền mặt (bưu điện): 1.500.000 ₫"),
        "{text}"
    );
    assert!(
        text.contains("Số tiền đã chi qua tài khoản: 12.750.000 ₫"),
        "{text}"
    );
    assert!(text.contains("dòng 19"), "{text}");
}

#[test]
fn each_rate_against_its_own_target() {
    let out = run_sample(&["--target-pct", "80", "--account-coverage-target-pct", "30"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // The account coverage's own target; the one for both is the cashless rate's.
    assert!(
        text.contains("Chỉ tiêu tỷ lệ có tài khoản 30,00%: đạt 90,91%, vượt 60,91 điểm phần trăm so với chỉ tiêu"),
        "{text}"
    );
    assert!(
        text.contains("Chỉ tiêu chi không dùng tiền mặt 80,00%: chưa đạt: 70,00%, thiếu 10,00 điểm phần trăm so với chỉ tiêu"),
        "{text}"
    );
    let out = run_sample(&["--cashless-rate-target-pct", "101"]);
    assert!(!out.status.success());
    said_on_stderr(&out, "--cashless-rate-target-pct");
}

#[test]
fn a_bank_file_naming_no_bank_takes_it_from_the_list() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = dir.path().join("kq.csv");
    // Agribank's results with no bank column and no title: four of the five accounts are
    // on the list, all at Agribank.
    std::fs::write(
        &bare,
        "Số tham chiếu,Số định danh,Số tài khoản,Tên,Số tiền,Trạng thái\n\
         FT1,025038000101,4200205123456,NGUYEN VAN AN,1500000,Thành công\n\
         FT2,025142000102,4200205123457,TRAN THI BICH,1500000,Thành công\n\
         FT3,,4200205123460,HOANG VAN EM,1500000,Thành công\n\
         FT4,025045000107,4200205999999,VU VAN GIANG,1500000,Thành công\n\
         FT5,,4200205123464,NGO VAN KHANH,1500000,Thành công\n",
    )
    .expect("write");
    let list = fixture("danh_sach_xa_tan_lap.xlsx");
    let path = bare.display().to_string();
    let r = json(&doisoat(&[
        "reconcile",
        "--beneficiaries",
        &list,
        "--payouts",
        &path,
        "--json",
    ]));
    let banks: Vec<&str> = r["by_bank"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["bank"].as_str())
        .collect();
    assert!(banks.contains(&"Agribank"), "{}", r["by_bank"]);
    // Accounts the list does not know: refused as before, naming the file.
    std::fs::write(
        &bare,
        "Số tham chiếu,Số tài khoản,Số tiền,Trạng thái\nFT1,999000111,1500000,Thành công\n",
    )
    .expect("write");
    let out = doisoat(&["reconcile", "--beneficiaries", &list, "--payouts", &path]);
    assert!(!out.status.success());
    said_on_stderr(&out, "kq.csv");
}

#[test]
fn writes_xlsx_and_csv_reports() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["r.xlsx", "r.csv", "r.json"] {
        let path = dir.path().join(name);
        let out = run_sample(&["--out", &path.display().to_string()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(!bytes.is_empty(), "{name} written");
        if name == "r.csv" {
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
            let text = String::from_utf8_lossy(&bytes);
            // 10 exceptions: everyone but the 6 clean matches... plus flags, plus the unmatched payout.
            assert!(text.contains("PHAM THI XUAN"), "unmatched payout listed");
            assert!(text.contains("Lý Thị Nga"), "unpaid listed");
        }
        if name == "r.xlsx" {
            use calamine::Reader;
            let wb = calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(
                bytes,
            ));
            let names = wb.map(|w| w.sheet_names()).unwrap_or_default();
            assert_eq!(
                names,
                vec!["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu", "Mã băm"]
            );
        }
    }
}

#[test]
fn unreadable_input_is_a_clear_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("hong.xlsx");
    std::fs::write(&bad, b"PK\x03\x04 not really a zip").unwrap();
    let out = doisoat(&[
        "reconcile",
        "--beneficiaries",
        &bad.display().to_string(),
        "--payouts",
        &fixture("ket_qua_ngan_hang.csv"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hong.xlsx"), "{err}");

    let missing = dir.path().join("khong_co.xlsx");
    let out = doisoat(&[
        "reconcile",
        "--beneficiaries",
        &missing.display().to_string(),
        "--payouts",
        &fixture("ket_qua_ngan_hang.csv"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("khong_co.xlsx"));

    // A bank file without a bank column whose title names the bank reads as that bank's...
    let out = doisoat(&[
        "reconcile",
        "--beneficiaries",
        &fixture("danh_sach_xa_tan_lap.xlsx"),
        "--payouts",
        &fixture("ket_qua_agribank.xlsx"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...one naming no bank anywhere, paying accounts the list does not know, needs BANK=.
    let dir = tempfile::tempdir().expect("tempdir");
    let bare = dir.path().join("kq.csv");
    std::fs::write(
        &bare,
        "Số tham chiếu,Số định danh,Số tài khoản,Số tiền,Trạng thái\nFT1,025038000101,9990205123456,1500000,Thành công\n",
    )
    .expect("write");
    let out = doisoat(&[
        "reconcile",
        "--beneficiaries",
        &fixture("danh_sach_xa_tan_lap.xlsx"),
        "--payouts",
        &bare.display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Agribank="));

    // No header: says what it found and what it needs.
    let noheader = dir.path().join("ghi_chu.csv");
    std::fs::write(&noheader, "ghi chú\nkhông có bảng\n").unwrap();
    let out = doisoat(&[
        "reconcile",
        "--beneficiaries",
        &noheader.display().to_string(),
        "--payouts",
        &fixture("ket_qua_ngan_hang.csv"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ghi chú") && err.contains("Số định danh"),
        "{err}"
    );
}

/// The province case, generated once per test run: the tests that read it run in parallel
/// and must not see it half rewritten.
fn province_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("province-1");
        let out = doisoat(&["fixtures", "--out", &dir.display().to_string()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .clone()
}

#[test]
fn province_case_reproduces_the_seed_figures() {
    let dir = province_dir();
    let d = dir.display().to_string();
    let r = json(&doisoat(&[
        "reconcile",
        "--json",
        "--beneficiaries",
        &format!("{d}/danh_sach_chi_tra.xlsx"),
        "--payouts",
        &format!("Agribank={d}/ket_qua_agribank.xlsx"),
        "--payouts",
        &format!("VietinBank={d}/vietinbank_results.csv"),
        "--payouts",
        &format!("{d}/ket_qua_ngan_hang_khac.xlsx"),
    ]));
    // The province's published figures.
    assert_eq!(r["beneficiaries"], 26_794);
    assert_eq!(r["with_account"], 16_923);
    assert_eq!(r["account_coverage_pct"], 63.16);
    assert_eq!(r["paid_cashless"], 16_467);
    assert_eq!(r["cashless_rate_pct"], 97.31);
    let paid: u64 = r["amount_paid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        paid > 33_200_000_000,
        "more than 33.2 billion VND paid: {paid}"
    );

    // Every outcome and flag, as the generator built them (computed without the engine).
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap_or_default())
            .unwrap_or_default();
    for key in [
        "beneficiaries",
        "with_account",
        "paid_cashless",
        "amount_due",
        "amount_paid",
        "outcomes",
        "flags",
        "unmatched_payouts",
    ] {
        assert_eq!(r[key], expected[key], "{key}");
    }
    assert_eq!(r["outcomes"]["matched"], 16_397);
    assert_eq!(r["outcomes"]["underpaid"], 37);
    assert_eq!(r["outcomes"]["overpaid"], 21);
    assert_eq!(r["outcomes"]["duplicate"], 12);
    assert_eq!(r["outcomes"]["failed"], 158);
    assert_eq!(r["outcomes"]["returned"], 64);
    assert_eq!(r["outcomes"]["unpaid"], 234);
    assert_eq!(r["outcomes"]["no_account"], 9_871);
    assert_eq!(r["flags"]["linked_by_account"], 120);
    assert_eq!(r["flags"]["invalid_id"], 40);
    assert_eq!(r["flags"]["legacy_id"], 15);
    assert_eq!(r["unmatched_payouts"]["count"], 23);
    assert_eq!(r["row_errors"].as_array().map(Vec::len), Some(10));
    assert_eq!(r["amount_paid"], "34636000000");
    assert_eq!(r["amount_due"], "56242500000");

    // Slices add up to the whole.
    for slice in ["by_commune", "by_category", "by_bank"] {
        let sum: u64 = r[slice]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["beneficiaries"].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(sum, 26_794, "{slice}");
    }
}

/// The summary sheet says when it was written ("Lập lúc 01/12/2026 19:34 (giờ Việt Nam,
/// UTC+7)", and the date over the signatures): those stamps, blanked.
fn without_time_of_writing(xml: &str) -> String {
    const MARK: &str = " (giờ Việt Nam, UTC+7)";
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(MARK) {
        // "dd/mm/yyyy hh:mm" is 16 ASCII bytes.
        assert!(
            i >= 16 && rest.is_char_boundary(i - 16),
            "stamp before {MARK}"
        );
        out.push_str(&rest[..i - 16]);
        out.push_str("dd/mm/yyyy hh:mm");
        out.push_str(MARK);
        rest = &rest[i + MARK.len()..];
    }
    out.push_str(rest);
    // The place-and-date line over the signatures ("……………, ngày 07 tháng 12 năm 2026"):
    // its date, blanked to the end of the cell's text.
    const DATED: &str = ", ngày ";
    let (mut blanked, mut rest) = (String::new(), out.as_str());
    while let Some(i) = rest.find(DATED) {
        blanked.push_str(&rest[..i + DATED.len()]);
        blanked.push_str("dd tháng mm năm yyyy");
        rest = &rest[i + DATED.len()..];
        rest = &rest[rest.find('<').unwrap_or(rest.len())..];
    }
    blanked.push_str(rest);
    blanked
}

/// Every report the CLI writes, reduced to digests: the JSON on stdout, the exceptions CSV,
/// and each part of the workbook but `docProps/core.xml` (it holds the time of writing), with
/// the summary's own stamp of that time blanked.
/// Run in `inputs` with bare file names: reports name their files as given, and the
/// digests must not depend on where the checkout is.
fn report_digests(inputs: &Path, args: &[&str]) -> [String; 3] {
    use doisoat::domain::sha256_hex;
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[String]| {
        let all: Vec<&str> = args
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .collect();
        let out = doisoat_in(inputs, &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let json = run(&["--json".into()]);
    let csv = dir.path().join("r.csv");
    run(&["--out".into(), csv.display().to_string()]);
    let xlsx = dir.path().join("r.xlsx");
    run(&["--out".into(), xlsx.display().to_string()]);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    let mut parts = String::new();
    for name in names.iter().filter(|n| *n != "docProps/core.xml") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut bytes).unwrap();
        if name == "xl/sharedStrings.xml" {
            bytes = without_time_of_writing(&String::from_utf8(bytes).unwrap()).into_bytes();
        }
        parts.push_str(&format!("{name} {}\n", sha256_hex(&bytes)));
    }
    [
        sha256_hex(&json),
        sha256_hex(&std::fs::read(&csv).unwrap()),
        sha256_hex(parts.as_bytes()),
    ]
}

/// The reports of the shipped samples and of the province case, pinned byte for byte
/// (JSON, CSV, the workbook's parts), so a rewrite of the importers, the engine or the
/// writers for scale (issue 11) cannot change an answer unseen. A change that is meant
/// shows here: re-derive the digests and say why in the commit.
#[test]
fn reports_are_pinned_byte_for_byte() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let sample = report_digests(
        &fixtures,
        &[
            "reconcile",
            "--beneficiaries",
            "danh_sach_xa_tan_lap.xlsx",
            "--payouts",
            "Agribank=ket_qua_agribank.xlsx",
            "--payouts",
            "ket_qua_ngan_hang.csv",
        ],
    );
    let province = report_digests(
        &province_dir(),
        &[
            "reconcile",
            "--beneficiaries",
            "danh_sach_chi_tra.xlsx",
            "--payouts",
            "Agribank=ket_qua_agribank.xlsx",
            "--payouts",
            "VietinBank=vietinbank_results.csv",
            "--payouts",
            "ket_qua_ngan_hang_khac.xlsx",
        ],
    );
    assert_eq!(
        [sample, province],
        [
            [
                "55b869812cf21b93dd02b502067e87b0ac9d483b67379036bc358b10c0486431".to_owned(),
                "d0892d2e09afbdd1d3c39a35cbe4133effd82dc55251003f68f655ccc5506a09".to_owned(),
                "0ce2b0fc8515cd8cbce6b5ee557e172775cf6280780b6c30c2532253728c0f18".to_owned(),
            ],
            [
                "345bbb34c80681393d8eded00ced4458621e7c9d1362bd648882a1dadd90fea2".to_owned(),
                "db4d645c0e5389d9230668160aabcbd0a16a1da872a09436b6543ad4e2876efd".to_owned(),
                "729d6b3e1b027c0ccf781e5b1188f350a7f4b8cf82c424db9f6da07227956364".to_owned(),
            ],
        ],
        "[json, csv, xlsx parts] of [sample, province]"
    );
}

/// The national month's generator (small here; the benchmark writes 3.35 million): the
/// engine's figures equal the ones computed from how each person was built.
#[test]
fn national_month_reproduces_its_construction() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let out = doisoat(&["fixtures", "--national", "--people", "20000", "--out", &d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&doisoat(&[
        "reconcile",
        "--json",
        "--beneficiaries",
        &format!("{d}/danh_sach_quoc_gia.csv"),
        "--payouts",
        &format!("{d}/ket_qua_chi_quoc_gia.csv"),
    ]));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected_national.json")).unwrap())
            .unwrap();
    for key in [
        "beneficiaries",
        "with_account",
        "paid_cashless",
        "amount_due",
        "amount_paid",
        "outcomes",
        "unmatched_payouts",
    ] {
        assert_eq!(r[key], expected[key], "{key}");
    }
    assert_eq!(r["beneficiaries"], 20_000);
    assert_eq!(expected["payout_rows"], 12_500);
    // Every outcome present.
    for (outcome, n) in r["outcomes"].as_object().unwrap() {
        assert!(
            outcome == "pending" || n.as_u64() > Some(0),
            "{outcome}: {n}"
        );
    }
    assert_eq!(r["row_errors"].as_array().map(Vec::len), Some(0));
}

#[test]
fn ods_list_reconciles_like_the_xlsx() {
    let run = |list: &str| {
        let mut args = sample_args();
        args[2] = fixture(list);
        args.push("--json".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut r = json(&doisoat(&args));
        // Only the file name may differ.
        for e in r["row_errors"].as_array_mut().into_iter().flatten() {
            e["file"] = Value::Null;
        }
        r
    };
    let ods = run("danh_sach_xa_tan_lap.ods");
    assert_eq!(
        ods["beneficiaries"], 11,
        "numeric ID cell padded, sections read"
    );
    assert_eq!(ods, run("danh_sach_xa_tan_lap.xlsx"));
}

#[test]
fn token_create_prints_the_token_and_a_bank_webhook_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("t.db").display());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_doisoat"))
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .expect("cannot run doisoat")
    };
    let out = run(&[
        "token", "create", "--role", "bank", "--bank", "Agribank", "--name", "agribank",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_owned)
    };
    assert!(
        line("token: ").is_some_and(|t| t.starts_with("ds_")),
        "{stdout}"
    );
    let secret = line("webhook_secret: ").unwrap_or_default();
    assert!(
        doisoat::webhook::WebhookSecret::parse(&secret).is_ok(),
        "{stdout}"
    );

    let out = run(&[
        "token",
        "create",
        "--role",
        "auditor",
        "--name",
        "kiem-toan",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("token: ") && !stdout.contains("webhook_secret"),
        "{stdout}"
    );

    // A token of a unit reads and writes its subtree; `token list` says which.
    let out = run(&[
        "token",
        "create",
        "--role",
        "accountant",
        "--unit",
        "37",
        "--name",
        "ke-toan-37",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["token", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let unit_of = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .and_then(|l| l.split('\t').nth(3))
            .map(str::to_owned)
    };
    assert_eq!(unit_of("ke-toan-37").as_deref(), Some("37"), "{listed}");
    assert_eq!(unit_of("kiem-toan").as_deref(), Some("VN"), "{listed}");
    // An unknown unit, or a unit for a bank token, is refused with what to do.
    for args in [
        &[
            "token",
            "create",
            "--role",
            "accountant",
            "--unit",
            "99",
            "--name",
            "y",
        ][..],
        &[
            "token", "create", "--role", "bank", "--bank", "BIDV", "--unit", "37", "--name", "z",
        ],
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("unit"),
            "{args:?}"
        );
    }

    // A bank token needs its bank; the name is unique; revoke by name.
    assert!(
        !run(&["token", "create", "--role", "bank", "--name", "x"])
            .status
            .success()
    );
    assert!(
        !run(&[
            "token",
            "create",
            "--role",
            "auditor",
            "--name",
            "kiem-toan"
        ])
        .status
        .success()
    );
    assert!(
        run(&["token", "revoke", "--name", "kiem-toan"])
            .status
            .success()
    );
    assert!(
        !run(&["token", "revoke", "--name", "kiem-toan"])
            .status
            .success()
    );
    let out = run(&["audit", "verify"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("4"),
        "four audit entries"
    );
}

use crate::support::bombs;

/// A reader's own warnings (calamine caps an ods repeat of 2,000,000 empty rows, and says
/// so in English) are not shown to a CLI user; asked for with DOISOAT_LOG, they come
/// without colour escapes when stderr is not a terminal.
#[test]
fn library_warnings_stay_out_of_the_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("list.ods");
    let rows = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>Họ và tên</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Số định danh</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Số tiền</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>Nguyễn Văn An</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>025038000101</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1500000"><text:p>1500000</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="2000000"><table:table-cell table:number-columns-repeated="20000"/></table:table-row>"#;
    std::fs::write(&list, bombs::ods(rows)).expect("write");
    let list = list.display().to_string();
    let args = [
        "reconcile",
        "--beneficiaries",
        &list,
        "--payouts",
        &fixture("ket_qua_ngan_hang.csv"),
    ];
    let quiet = doisoat(&args);
    assert!(
        quiet.status.success(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        "",
        "nothing on stderr"
    );
    let asked = Command::new(env!("CARGO_BIN_EXE_doisoat"))
        .args(args)
        .env("DOISOAT_LOG", "warn")
        .output()
        .expect("cannot run doisoat");
    let stderr = String::from_utf8_lossy(&asked.stderr);
    assert!(
        stderr.contains("capped"),
        "the warning, when asked for: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no colour escapes: {stderr:?}");
}
