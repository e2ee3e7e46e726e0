//! The administrative units in force since 1/7/2025: the nation (`VN`), 34 provinces
//! (2-digit codes) and their 3,321 communes, wards and special zones (5-digit codes).
//! `admin_units_2025.csv` is from thanglequoc/vietnamese-provinces-database (MIT License,
//! Copyright (c) 2021 Thang Le Quoc); the database is seeded with the same rows by
//! migration 0007, and a test keeps the two equal.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::names::fold;

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
    use std::collections::{HashMap, HashSet};

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
