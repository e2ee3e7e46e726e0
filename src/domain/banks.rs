//! Registry of Vietnamese banks (VietQR codes and BINs) and resolution of the many ways
//! a bank is written in beneficiary lists and payout files.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::names::fold;

const BANKS_CSV: &str = include_str!("banks.csv");

#[derive(Debug)]
pub struct Bank {
    /// NAPAS BIN; None for VBSP, which is not on NAPAS.
    pub bin: Option<String>,
    /// VietQR code, e.g. "VBA".
    pub code: String,
    pub short_name: String,
    pub name_vi: String,
    pub aliases: Vec<String>,
}

static BANKS: LazyLock<Vec<Bank>> = LazyLock::new(|| {
    BANKS_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            // No field in the file contains a comma, so no CSV quoting to handle.
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            #[allow(clippy::expect_used)] // embedded constant, checked by a unit test
            let [bin, code, short_name, name_vi, aliases]: [&str; 5] =
                fields.try_into().expect("banks.csv: 5 fields per row");
            Bank {
                bin: (!bin.is_empty()).then(|| bin.to_string()),
                code: code.to_string(),
                short_name: short_name.to_string(),
                name_vi: name_vi.to_string(),
                aliases: aliases
                    .split('|')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect()
});

/// Folded key -> bank; None marks a key shared by two banks, which must never resolve.
static INDEX: LazyLock<HashMap<String, Option<BankId>>> = LazyLock::new(|| {
    let mut index: HashMap<String, Option<BankId>> = HashMap::new();
    for id in BankId::all() {
        let bank = id.bank();
        let names = bank
            .bin
            .iter()
            .chain([&bank.code, &bank.short_name, &bank.name_vi])
            .chain(&bank.aliases);
        for name in names {
            let words = words(name);
            // Also the official name without "Ngân hàng TMCP", so "Ngân hàng Ngoại
            // thương Việt Nam" finds it through the same prefix stripping as input.
            for key in [compact(&words), compact(strip_prefixes(&words))] {
                if key.is_empty() {
                    continue;
                }
                index
                    .entry(key)
                    .and_modify(|e| {
                        if *e != Some(id) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(id));
            }
        }
    }
    index
});

/// Legal-form prefixes people add or drop freely, as folded word sequences.
const PREFIXES: [&[&str]; 6] = [
    &["ngan", "hang"],
    &["nh"],
    &["tmcp"],
    &["thuong", "mai", "co", "phan"],
    &["thuong", "mai", "tnhh", "mtv"],
    &["bank"],
];

/// Words that start a branch suffix: "Agribank chi nhánh Ba Đình", "VCB - CN Hà Nội".
const BRANCH_MARKERS: [&[&str]; 4] = [
    &["chi", "nhanh"],
    &["cn"],
    &["pgd"],
    &["phong", "giao", "dich"],
];

/// Folded words; punctuation separates words ("NHNo&PTNT" -> "nhno ptnt").
fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Spaces are dropped from keys: "Vietcom bank", "NHNo & PTNT" and "MB Bank" are all
/// common spellings of the registry's single words.
fn compact(words: &[String]) -> String {
    words.concat()
}

fn strip_prefixes(mut words: &[String]) -> &[String] {
    'outer: loop {
        for p in PREFIXES {
            if words.len() > p.len() && words.iter().zip(p).all(|(w, p)| w == p) {
                words = &words[p.len()..];
                continue 'outer;
            }
        }
        return words;
    }
}

fn cut_branch(words: &[String]) -> &[String] {
    for start in 1..words.len() {
        let rest = &words[start..];
        if BRANCH_MARKERS
            .iter()
            .any(|m| rest.len() >= m.len() && rest.iter().zip(m.iter()).all(|(w, m)| w == m))
        {
            return &words[..start];
        }
    }
    words
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
/// A bank of the reference table: its index plus one, so `Option<BankId>` is 2 bytes in
/// the list's columns and the engine's results.
pub struct BankId(std::num::NonZeroU16);

impl BankId {
    /// Exact match (after folding) against BIN, code, names and aliases, also with
    /// legal-form prefixes and a branch suffix removed. Never a substring match: a
    /// wrong bank is worse than none.
    pub fn resolve(input: &str) -> Option<BankId> {
        let all = words(input);
        let without_branch = cut_branch(&all);
        [
            &all[..],
            strip_prefixes(&all),
            without_branch,
            strip_prefixes(without_branch),
        ]
        .into_iter()
        .find_map(|ws| INDEX.get(&compact(ws)).copied().flatten())
    }

    pub fn bank(self) -> &'static Bank {
        // BankIds are only made from indexes of BANKS.
        &BANKS[usize::from(self.0.get() - 1)]
    }

    pub fn code(self) -> &'static str {
        &self.bank().code
    }

    pub fn short_name(self) -> &'static str {
        &self.bank().short_name
    }

    /// The bank's number in the reference table (from 1): a compact key for comparing
    /// banks in memory (never stored).
    pub fn number(self) -> u16 {
        self.0.get()
    }

    pub fn all() -> impl Iterator<Item = BankId> {
        // The registry has a few dozen rows, far below u16::MAX.
        (1..=BANKS.len() as u16).filter_map(|i| std::num::NonZeroU16::new(i).map(BankId))
    }
}

impl fmt::Display for BankId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

impl Serialize for BankId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.short_name())
    }
}

impl<'de> Deserialize<'de> for BankId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        BankId::resolve(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown bank: {s}")))
    }
}

/// What a bank file's account numbers say about its bank: the banks of the listed
/// beneficiaries whose accounts they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountEvidence {
    pub bank: BankId,
    /// The file's accounts found at that bank in the lists.
    pub agreeing: u64,
    /// The file's accounts found in the lists with a bank.
    pub matched: u64,
    /// The file's accounts looked at.
    pub sampled: u64,
}

/// The bank a file without a bank column is from, by whose accounts it pays: one bank
/// holding at least 9 in 10 of the accounts found in the lists, those found being at least
/// half of the accounts looked at. Else none: never a guess between banks, nor from a few
/// accounts.
pub fn bank_by_accounts(sampled: u64, found: &[(BankId, u64)]) -> Option<AccountEvidence> {
    let matched: u64 = found.iter().map(|(_, n)| n).sum();
    let &(bank, agreeing) = found.iter().max_by_key(|(_, n)| *n)?;
    let enough = matched > 0 && matched * 2 >= sampled;
    let one_bank = agreeing * 10 >= matched * 9;
    (enough && one_bank).then_some(AccountEvidence {
        bank,
        agreeing,
        matched,
        sampled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(input: &str) -> Option<&'static str> {
        BankId::resolve(input).map(BankId::code)
    }

    #[test]
    fn embedded_registry_parses() {
        assert_eq!(BANKS.len(), 36);
        let vbsp = BankId::resolve("VBSP").map(BankId::bank);
        assert!(vbsp.is_some_and(|b| b.bin.is_none() && b.aliases.contains(&"NHCSXH".to_string())));
        assert!(BankId::all().all(|id| !id.code().is_empty() && !id.short_name().is_empty()));
        let hdb = BankId::resolve("HDB").map(BankId::bank);
        assert!(hdb.is_some_and(|b| b.aliases.is_empty()));
    }

    #[test]
    fn registry_names_resolve_to_themselves() {
        for id in BankId::all() {
            let b = id.bank();
            for name in b
                .bin
                .iter()
                .chain([&b.code, &b.short_name, &b.name_vi])
                .chain(&b.aliases)
            {
                assert_eq!(BankId::resolve(name), Some(id), "{name}");
            }
        }
    }

    #[test]
    fn no_ambiguous_keys_in_registry() {
        let ambiguous: Vec<&String> = INDEX
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect();
        assert!(ambiguous.is_empty(), "{ambiguous:?}");
    }

    #[test]
    fn vietcombank_spellings() {
        for s in [
            "Vietcombank",
            "VCB",
            "vcb",
            "970436",
            "Ngân hàng TMCP Ngoại thương Việt Nam",
            "NGAN HANG TMCP NGOAI THUONG VIET NAM",
            "Ngân hàng Ngoại thương Việt Nam",
            "ngoai thuong",
            "Ngoại Thương",
            "Vietcom bank",
            "NH Vietcombank",
            "Ngân hàng Vietcombank",
            "Ngân hàng TMCP Vietcombank",
            "Vietcombank chi nhánh Hà Nội",
            "Vietcombank - Chi nhánh Thanh Xuân",
            "VCB - CN Ba Đình",
            "NH TMCP Ngoại thương",
        ] {
            assert_eq!(code_of(s), Some("VCB"), "{s}");
        }
    }

    #[test]
    fn other_spellings() {
        assert_eq!(code_of("NH Agribank"), Some("VBA"));
        assert_eq!(code_of("Ngân hàng Agribank"), Some("VBA"));
        assert_eq!(code_of("NHNo & PTNT"), Some("VBA"));
        assert_eq!(code_of("NHNo&PTNT"), Some("VBA"));
        assert_eq!(code_of("Agribank CN huyện Gia Lâm"), Some("VBA"));
        assert_eq!(code_of("Ngân hàng Nông nghiệp"), Some("VBA"));
        assert_eq!(code_of("LienVietPostBank"), Some("LPB"));
        assert_eq!(code_of("NHCSXH"), Some("VBSP"));
        assert_eq!(code_of("Ngân hàng Chính sách xã hội"), Some("VBSP"));
        assert_eq!(code_of("MB Bank"), Some("MB"));
        assert_eq!(code_of("Co-op Bank"), Some("COOPBANK"));
        assert_eq!(code_of("Ngân hàng Nam Á"), Some("NAB"));
        assert_eq!(code_of("Đông Nam Á"), Some("SEAB"));
        assert_eq!(code_of("Sài Gòn Thương Tín"), Some("STB"));
        assert_eq!(code_of("Ngân hàng TMCP Sài Gòn - Hà Nội"), Some("SHB"));
        assert_eq!(code_of("Bank BIDV"), Some("BIDV"));
    }

    #[test]
    fn unknown_and_empty() {
        for s in [
            "",
            "   ",
            "Ngân hàng",
            "NH",
            "Bank",
            "Chi nhánh Hà Nội",
            "Ngân hàng ABC",
            "Vietcombank Agribank",
            "Agribankk",
            "Công thương Sài Gòn",
            "Nguyễn Văn A",
            "tiền mặt",
        ] {
            assert_eq!(BankId::resolve(s), None, "{s}");
        }
    }

    #[test]
    fn accessors_and_serde() {
        let id = BankId::resolve("Agribank");
        assert_eq!(id.map(BankId::code), Some("VBA"));
        assert_eq!(id.map(BankId::short_name), Some("Agribank"));
        assert_eq!(id.map(|i| i.to_string()).as_deref(), Some("Agribank"));
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, "\"Agribank\"");
        let back: Option<BankId> = serde_json::from_str::<BankId>("\"NHNo&PTNT\"").ok();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<BankId>("\"Nowhere Bank\"").is_err());
    }

    #[test]
    fn a_file_s_bank_by_whose_accounts_it_pays() {
        let (Some(agri), Some(vcb)) = (BankId::resolve("Agribank"), BankId::resolve("VCB")) else {
            panic!("banks");
        };
        let found = bank_by_accounts(100, &[(agri, 95), (vcb, 3)]);
        assert_eq!(
            found,
            Some(AccountEvidence {
                bank: agri,
                agreeing: 95,
                matched: 98,
                sampled: 100
            })
        );
        // Two banks about even: no guess. Too few accounts found: none either.
        assert_eq!(bank_by_accounts(100, &[(agri, 60), (vcb, 40)]), None);
        assert_eq!(bank_by_accounts(100, &[(agri, 49)]), None);
        assert_eq!(
            bank_by_accounts(100, &[(agri, 50)]).map(|e| e.bank),
            Some(agri)
        );
        assert_eq!(bank_by_accounts(0, &[]), None);
        assert_eq!(bank_by_accounts(10, &[(agri, 0)]), None);
    }
}
