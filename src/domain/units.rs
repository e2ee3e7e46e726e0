//! The administrative units in force since 1/7/2025: the nation (`VN`), 34 provinces
//! (2-digit codes) and their 3,321 communes, wards and special zones (5-digit codes).
//! `admin_units_2025.csv` is from thanglequoc/vietnamese-provinces-database (MIT License,
//! Copyright (c) 2021 Thang Le Quoc); the database is seeded with the same rows by
//! migration 0007, and a test keeps the two equal.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::names::fold;
use super::period::{Targets, TargetsBp, bp_pct};

const UNITS_CSV: &str = include_str!("admin_units_2025.csv");

/// The root of the tree: what a token or a list without a unit belongs to.
pub const NATION: &str = "VN";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnitLevel {
    Nation,
    Province,
    Commune,
}

impl UnitLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::Nation => "nation",
            UnitLevel::Province => "province",
            UnitLevel::Commune => "commune",
        }
    }

    pub fn parse(s: &str) -> Option<UnitLevel> {
        match s {
            "nation" => Some(UnitLevel::Nation),
            "province" => Some(UnitLevel::Province),
            "commune" => Some(UnitLevel::Commune),
            _ => None,
        }
    }
}

/// One administrative unit, as `GET /api/v1/units` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Unit {
    /// `VN`, `01` (a province), `00004` (a commune).
    pub code: String,
    /// "Ba Đình".
    pub name: String,
    /// "Phường Ba Đình".
    pub full_name: String,
    pub level: UnitLevel,
    /// The parent's code; null for `VN`.
    pub parent: Option<String>,
    /// Xã, Phường, Đặc khu, Tỉnh, Thành phố; null for `VN`.
    pub kind: Option<String>,
}

/// The shipped tree, built once. The database holds the same units (migration 0007, checked
/// by a test) and nothing changes them at run time, so this is the tree the service uses.
pub fn shipped_tree() -> &'static UnitTree {
    static TREE: LazyLock<UnitTree> = LazyLock::new(UnitTree::shipped);
    &TREE
}

/// The units as shipped, each parent before its children (the migration's seed).
pub fn seed() -> &'static [Unit] {
    &SEED
}

static SEED: LazyLock<Vec<Unit>> = LazyLock::new(|| {
    let nation = Unit {
        code: NATION.into(),
        name: "Việt Nam".into(),
        full_name: "Cộng hòa xã hội chủ nghĩa Việt Nam".into(),
        level: UnitLevel::Nation,
        parent: None,
        kind: None,
    };
    // level,code,name,full_name,province_code,kind: no field holds a comma or a quote.
    let rows = UNITS_CSV.lines().skip(1).filter(|l| !l.trim().is_empty());
    let units = rows.filter_map(|line| {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let [level, code, name, full_name, province, kind] = f.as_slice() else {
            return None;
        };
        let level = UnitLevel::parse(level)?;
        let parent = match level {
            UnitLevel::Province => NATION,
            _ => province,
        };
        Some(Unit {
            code: (*code).into(),
            name: (*name).into(),
            full_name: (*full_name).into(),
            level,
            parent: Some(parent.to_string()),
            kind: Some((*kind).into()),
        })
    });
    std::iter::once(nation).chain(units).collect()
});

/// The tree, indexed: parents, subtrees and communes by name. Built once from the units
/// the store holds (or the shipped `seed()`), then only read.
#[derive(Debug, Clone, Default)]
pub struct UnitTree {
    units: HashMap<String, Unit>,
    /// Province code → commune key → the commune's code; None where two share the key.
    communes: HashMap<String, HashMap<String, Option<String>>>,
    /// Commune key → the commune's code where exactly one province has it (unshared there).
    national: HashMap<String, Option<String>>,
}

/// Record `code` under `key`, or None once a second code claims it.
fn claim(index: &mut HashMap<String, Option<String>>, key: String, code: &str) {
    index
        .entry(key)
        .and_modify(|c| {
            if c.as_deref() != Some(code) {
                *c = None;
            }
        })
        .or_insert_with(|| Some(code.to_owned()));
}

impl UnitTree {
    pub fn new(units: impl IntoIterator<Item = Unit>) -> UnitTree {
        let units: HashMap<String, Unit> = units.into_iter().map(|u| (u.code.clone(), u)).collect();
        let mut communes: HashMap<String, HashMap<String, Option<String>>> = HashMap::new();
        for u in units.values().filter(|u| u.level == UnitLevel::Commune) {
            let Some(province) = &u.parent else { continue };
            let index = communes.entry(province.clone()).or_default();
            for name in [&u.full_name, &u.name] {
                claim(index, commune_key(name), &u.code);
            }
        }
        let mut national = HashMap::new();
        for index in communes.values() {
            for (key, code) in index {
                if let Some(code) = code {
                    claim(&mut national, key.clone(), code);
                }
            }
        }
        UnitTree {
            units,
            communes,
            national,
        }
    }

    /// The shipped 2025 tree.
    pub fn shipped() -> UnitTree {
        UnitTree::new(seed().iter().cloned())
    }

    pub fn get(&self, code: &str) -> Option<&Unit> {
        self.units.get(code)
    }

    /// `code`'s unit, then its parent, up to `VN` (nothing for an unknown code).
    fn up_from<'t>(&'t self, code: &str) -> impl Iterator<Item = &'t Unit> + 't {
        std::iter::successors(self.units.get(code), |u| {
            u.parent.as_deref().and_then(|p| self.units.get(p))
        })
    }

    /// Whether `code` is `ancestor` or lies below it. Unknown codes are within nothing.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        self.up_from(code).any(|u| u.code == ancestor)
    }

    /// The child of `ancestor` on the way up from `code`: where `code`'s figures roll up
    /// among `ancestor`'s children. None unless `code` lies strictly below `ancestor`.
    pub fn child_toward(&self, ancestor: &str, code: &str) -> Option<&Unit> {
        self.up_from(code)
            .find(|u| u.parent.as_deref() == Some(ancestor))
    }

    /// The commune of `unit`'s subtree a list's commune column names: `unit` itself when it
    /// is that commune, one of its communes when it is a province. None when the name
    /// resolves to no commune there, or to two (then the row stays with the list's unit,
    /// its name kept as written), and for a list of the whole country: a pre-2025 commune
    /// name that happens to be unique among today's communes would land in another
    /// province, so a nation's rows stay at the nation (`resolve_nationally` exists for a
    /// caller that knows better).
    pub fn resolve_commune(&self, unit: &str, written: &str) -> Option<&Unit> {
        let key = commune_key(written);
        let u = self.units.get(unit)?;
        match u.level {
            UnitLevel::Commune => {
                let own = u.parent.as_ref().and_then(|p| self.commune(p, &key));
                own.filter(|c| c.code == u.code)
            }
            UnitLevel::Province => self.commune(&u.code, &key),
            UnitLevel::Nation => None,
        }
    }

    /// The commune a name means anywhere in the country, when exactly one province has
    /// one commune of that name.
    pub fn resolve_nationally(&self, written: &str) -> Option<&Unit> {
        let code = self.national.get(&commune_key(written))?.as_deref()?;
        self.units.get(code)
    }

    /// The targets that apply to `unit`, each rate on its own: the unit's own target for
    /// that rate, else the nearest ancestor's, else the period's; each with the unit whose
    /// target it is (None: the period's). A unit's target for both rates counts for each.
    pub fn targets_for<'t>(
        &'t self,
        unit: &str,
        own: &'t HashMap<String, TargetsBp>,
        period: TargetsBp,
    ) -> AppliedTargets<'t> {
        let rate = |pick: fn(TargetsBp) -> Option<i64>| {
            self.up_from(unit)
                .find_map(|u| {
                    own.get(&u.code)
                        .and_then(|t| pick(*t))
                        .map(|bp| (Some(bp), Some(u.code.as_str())))
                })
                .unwrap_or((pick(period), None))
        };
        let (account_bp, account_set_for) = rate(TargetsBp::account);
        let (cashless_bp, cashless_set_for) = rate(TargetsBp::cashless);
        AppliedTargets {
            account_bp,
            account_set_for,
            cashless_bp,
            cashless_set_for,
        }
    }

    fn commune(&self, province: &str, key: &str) -> Option<&Unit> {
        let code = self.communes.get(province)?.get(key)?.as_deref()?;
        self.units.get(code)
    }
}

/// The targets that apply to one unit (`UnitTree::targets_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedTargets<'t> {
    pub account_bp: Option<i64>,
    /// The unit whose own target it is; None: the period's.
    pub account_set_for: Option<&'t str>,
    pub cashless_bp: Option<i64>,
    pub cashless_set_for: Option<&'t str>,
}

impl AppliedTargets<'_> {
    pub fn pct(&self) -> Targets {
        Targets {
            account_coverage: self.account_bp.map(bp_pct),
            cashless_rate: self.cashless_bp.map(bp_pct),
        }
    }
}

/// A commune's name as lists write it, for comparing: case, diacritics and the kind word
/// in front ("Xã", "Phường", "Thị trấn", "Đặc khu", "X.", "P.", "TT.") do not count.
/// "Xã Tân Lập", "xa tan lap", "X. Tân Lập" and "Tân Lập" all give "tan lap".
pub fn commune_key(name: &str) -> String {
    let folded = fold(name);
    let prefixes = [
        "xa ",
        "phuong ",
        "thi tran ",
        "dac khu ",
        "x.",
        "p.",
        "tt.",
        "x ",
        "p ",
        "tt ",
    ];
    let rest = prefixes
        .iter()
        .find_map(|p| folded.strip_prefix(p))
        .map_or(folded.as_str(), str::trim_start);
    // "Phường 1" keeps its number; a prefix alone is no name.
    if rest.is_empty() {
        folded
    } else {
        rest.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::collections::HashSet;

    #[test]
    fn the_2025_tree() {
        let units = seed();
        let count = |l: UnitLevel| units.iter().filter(|u| u.level == l).count();
        assert_eq!(count(UnitLevel::Nation), 1);
        assert_eq!(count(UnitLevel::Province), 34);
        assert_eq!(count(UnitLevel::Commune), 3321);
        // Every line of the file is a unit, every code unique, every parent known and
        // listed before its children, at the level above.
        assert_eq!(units.len(), UNITS_CSV.lines().count());
        let mut seen: HashMap<&str, UnitLevel> = HashMap::new();
        for u in units {
            let expected_len = match u.level {
                UnitLevel::Nation => 2,
                UnitLevel::Province => 2,
                UnitLevel::Commune => 5,
            };
            assert_eq!(u.code.len(), expected_len, "{u:?}");
            if let Some(p) = &u.parent {
                let parent = seen.get(p.as_str()).copied();
                let above = match u.level {
                    UnitLevel::Province => Some(UnitLevel::Nation),
                    UnitLevel::Commune => Some(UnitLevel::Province),
                    UnitLevel::Nation => None,
                };
                assert_eq!(parent, above, "{u:?}");
            }
            assert!(seen.insert(&u.code, u.level).is_none(), "{u:?}");
            assert!(u.full_name.ends_with(&u.name), "{u:?}");
        }
        let hanoi = units.iter().find(|u| u.code == "01");
        assert_eq!(
            hanoi.map(|u| u.full_name.as_str()),
            Some("Thành phố Hà Nội")
        );
    }

    #[test]
    fn commune_names_compare_without_case_marks_or_kind() {
        for written in [
            "Xã Tân Lập",
            "xa tan lap",
            "X. Tân Lập",
            "X.Tân Lập",
            "TÂN LẬP",
        ] {
            assert_eq!(commune_key(written), "tan lap", "{written}");
        }
        assert_eq!(commune_key("Phường Ba Đình"), commune_key("P. Ba Đình"));
        assert_eq!(commune_key("Thị trấn Phong Thổ"), "phong tho");
        assert_eq!(commune_key("Đặc khu Phú Quốc"), "phu quoc");
        assert_eq!(commune_key("Phường 1"), "1");
        assert_eq!(commune_key("Xã"), "xa");
        // Names that merely start like a kind word keep it.
        assert_eq!(commune_key("Xuân Phương"), "xuan phuong");
        assert_eq!(commune_key("Phú Xuân"), "phu xuan");
    }

    #[test]
    fn subtrees_and_communes_by_name() {
        let tree = UnitTree::shipped();
        assert!(tree.is_within("00004", "01"));
        assert!(tree.is_within("00004", NATION));
        assert!(tree.is_within("01", "01"));
        assert!(!tree.is_within("01", "00004"));
        assert!(!tree.is_within("00004", "37"));
        assert!(!tree.is_within("nope", NATION));

        for written in ["Phường Ba Đình", "P. Ba Đình", "phuong ba dinh", "BA ĐÌNH"] {
            let found = tree.resolve_commune("01", written).map(|u| u.code.as_str());
            assert_eq!(found, Some("00004"), "{written}");
        }
        // Within a commune's own list only that commune resolves; not in another province.
        assert_eq!(
            tree.resolve_commune("00004", "Ba Đình")
                .map(|u| u.code.as_str()),
            Some("00004")
        );
        assert!(tree.resolve_commune("00008", "Ba Đình").is_none());
        assert!(tree.resolve_commune("37", "Ba Đình").is_none());
        // A pre-2025 commune name that no longer exists resolves to nothing.
        assert!(tree.resolve_commune("01", "Xã Không Có Thật").is_none());
        assert!(tree.resolve_commune("99", "Ba Đình").is_none());
        // A nation's list stays at the nation; by name across the country: a name only
        // one province has, and not one two provinces have.
        assert!(tree.resolve_commune(NATION, "P. Giảng Võ").is_none());
        assert_eq!(
            tree.resolve_nationally("P. Giảng Võ")
                .map(|u| u.code.as_str()),
            Some("00025")
        );
        assert!(
            tree.resolve_nationally("Ba Đình").is_none(),
            "01 and 38 both"
        );
        // Where a commune's figures roll up.
        let toward = |a: &str, c: &str| tree.child_toward(a, c).map(|u| u.code.clone());
        assert_eq!(toward(NATION, "00004").as_deref(), Some("01"));
        assert_eq!(toward("01", "00004").as_deref(), Some("00004"));
        assert_eq!(toward("01", "01"), None);
        assert_eq!(toward("37", "00004"), None);
    }

    #[test]
    fn each_rate_takes_the_nearest_target_for_it() {
        let tree = UnitTree::shipped();
        let bp = |all, account, cashless| TargetsBp {
            all,
            account_coverage: account,
            cashless_rate: cashless,
        };
        // Hà Nội: 90% for both; its commune 00008: 35% account coverage only.
        let own: HashMap<String, TargetsBp> = [
            ("01".to_owned(), bp(Some(9000), None, None)),
            ("00008".to_owned(), bp(None, Some(3500), None)),
        ]
        .into();
        let period = bp(None, Some(3000), Some(8000));
        let at = tree.targets_for("00008", &own, period);
        assert_eq!(
            (at.account_bp, at.account_set_for),
            (Some(3500), Some("00008"))
        );
        assert_eq!(
            (at.cashless_bp, at.cashless_set_for),
            (Some(9000), Some("01"))
        );
        let at = tree.targets_for("37", &own, period);
        assert_eq!((at.account_bp, at.account_set_for), (Some(3000), None));
        assert_eq!((at.cashless_bp, at.cashless_set_for), (Some(8000), None));
        assert_eq!(
            at.pct(),
            Targets {
                account_coverage: Some(Decimal::new(3000, 2)),
                cashless_rate: Some(Decimal::new(8000, 2)),
            }
        );
        assert!(
            tree.targets_for(NATION, &own, TargetsBp::default())
                .pct()
                .is_none()
        );
    }

    #[test]
    fn commune_keys_are_unique_within_nearly_every_province() {
        // Two communes of one province may share a name (then it resolves to neither);
        // the check keeps that rare, so resolution by name is worth having.
        let mut keys: HashMap<(&str, String), usize> = HashMap::new();
        for u in seed().iter().filter(|u| u.level == UnitLevel::Commune) {
            let p = u.parent.as_deref().unwrap_or_default();
            *keys.entry((p, commune_key(&u.full_name))).or_default() += 1;
        }
        let shared: HashSet<_> = keys.iter().filter(|(_, n)| **n > 1).collect();
        assert!(shared.len() < 20, "{shared:?}");
    }
}
