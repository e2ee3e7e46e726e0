//! Text folding for comparing people's names and matching spreadsheet headers.
//!
//! Lists come from many offices and tools: the same name arrives with or without
//! diacritics, in upper case, precomposed (NFC) or decomposed (NFD, common from macOS
//! and some web exports), with doubled or non-breaking spaces.

use std::borrow::Cow;
use std::sync::LazyLock;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Invisible characters that Excel/CSV exports leave in cells (BOM at the start of a
/// UTF-8 CSV, zero-width spaces pasted from web pages). They never carry meaning.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}'
    )
}

/// Pushes `c` collapsing whitespace runs; `pending_space` defers the separator so
/// leading and trailing whitespace disappear without a second pass.
fn push_collapsed(out: &mut String, pending_space: &mut bool, c: char) {
    if c.is_whitespace() {
        *pending_space = !out.is_empty();
    } else {
        if *pending_space {
            out.push(' ');
            *pending_space = false;
        }
        out.push(c);
    }
}

/// Folding for comparison and for header matching: Unicode NFD, drop combining marks
/// (so all Vietnamese diacritics go), map đ/Đ to d, lowercase, collapse any run of
/// whitespace (incl. NBSP) to one space, trim.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    if s.is_ascii() {
        // Most header cells and many names are plain ASCII: skip decomposition.
        for c in s.chars() {
            push_collapsed(&mut out, &mut pending_space, c.to_ascii_lowercase());
        }
        return out;
    }
    for c in s.nfd().flat_map(char::to_lowercase) {
        if is_combining_mark(c) || is_invisible(c) {
            continue;
        }
        // đ is a letter of its own (no decomposition); ð (Icelandic eth) shows up in
        // place of đ in text converted from legacy Vietnamese encodings.
        let c = match c {
            'đ' | 'ð' => 'd',
            other => other,
        };
        push_collapsed(&mut out, &mut pending_space, c);
    }
    out
}

/// A name for a bank that takes only ASCII: the diacritics dropped, đ/Đ as d/D, case and
/// spacing kept ("Nguyễn Thị Đào" → "Nguyen Thi Dao"). Anything else non-ASCII becomes
/// a space.
pub fn ascii(s: &str) -> String {
    if s.is_ascii() {
        return s.to_owned();
    }
    s.nfd()
        .filter(|c| !is_combining_mark(*c) && !is_invisible(*c))
        .map(|c| match c {
            'đ' | 'ð' => 'd',
            'Đ' | 'Ð' => 'D',
            c if c.is_ascii() => c,
            _ => ' ',
        })
        .collect()
}

/// Whether two names are the same person-name after folding.
pub fn names_match(a: &str, b: &str) -> bool {
    // The engine compares millions of names: fold both through the letter table into
    // buffers on the stack, and the full `fold` only for text the table does not cover
    // (combining marks, invisible characters, other scripts, very long text).
    let (mut x, mut y) = ([0u8; QUICK_FOLD_MAX], [0u8; QUICK_FOLD_MAX]);
    match (quick_fold_into(a, &mut x), quick_fold_into(b, &mut y)) {
        (Some(x), Some(y)) => x == y,
        _ => fold(a) == fold(b),
    }
}

const QUICK_FOLD_MAX: usize = 128;
const LATIN: std::ops::RangeInclusive<u32> = 0xC0..=0x24F;
const VIETNAMESE: std::ops::RangeInclusive<u32> = 0x1E00..=0x1EFF;
const LATIN_LEN: u32 = 0x24F - 0xC0 + 1;

/// What `fold` makes of each letter in U+00C0..U+024F and U+1E00..U+1EFF (all of
/// Vietnamese's), where that is one ASCII letter; 0 where it is not. Derived from `fold`.
static ASCII_FOLD: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let fold_one = |u: u32| {
        let Some(c) = char::from_u32(u) else { return 0 };
        match fold(c.encode_utf8(&mut [0u8; 4])).as_bytes() {
            &[b] if b.is_ascii_alphanumeric() => b,
            _ => 0,
        }
    };
    LATIN.chain(VIETNAMESE).map(fold_one).collect()
});

/// `fold(s)` into `out` when every character is ASCII or in `ASCII_FOLD` and it fits;
/// None to take the full fold. Reads the UTF-8 bytes: decoding chars costs more.
fn quick_fold_into<'o>(s: &str, out: &'o mut [u8; QUICK_FOLD_MAX]) -> Option<&'o [u8]> {
    let table: &[u8] = &ASCII_FOLD;
    let b = s.as_bytes();
    let (mut i, mut n, mut pending_space) = (0, 0, false);
    while let Some(&c) = b.get(i) {
        let folded = match c {
            b' ' | b'\t'..=b'\r' => {
                pending_space = n > 0;
                i += 1;
                continue;
            }
            0..=0x7F => {
                i += 1;
                c.to_ascii_lowercase()
            }
            0xC0..=0xDF => {
                let u = (u32::from(c & 0x1F) << 6) | u32::from(b.get(i + 1)? & 0x3F);
                i += 2;
                if !LATIN.contains(&u) {
                    return None;
                }
                *table.get((u - LATIN.start()) as usize)?
            }
            0xE1 => {
                let u = 0x1000
                    | (u32::from(b.get(i + 1)? & 0x3F) << 6)
                    | u32::from(b.get(i + 2)? & 0x3F);
                i += 3;
                if !VIETNAMESE.contains(&u) {
                    return None;
                }
                *table.get((u - VIETNAMESE.start() + LATIN_LEN) as usize)?
            }
            _ => return None,
        };
        if folded == 0 || n + 2 > out.len() {
            return None;
        }
        if pending_space {
            out[n] = b' ';
            n += 1;
            pending_space = false;
        }
        out[n] = folded;
        n += 1;
    }
    out.get(..n)
}

/// The level of an administrative unit, as a title or a locality names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceLevel {
    /// xã, phường, thị trấn
    Commune,
    /// huyện, quận, thị xã
    District,
    /// tỉnh, thành phố
    Province,
}

/// Administrative units a text names, folded: "UBND XÃ TÂN LẬP" → (Commune, "tan lap");
/// "Xã Tân Lập, huyện Thanh Sơn, tỉnh Phú Thọ" → three. "Xã hội" (social) is no commune.
pub fn places_named(text: &str) -> Vec<(PlaceLevel, String)> {
    let folded = fold(text);
    let mut out = Vec::new();
    for part in folded.split([',', ';', '-', '(', ')', ':']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let (level, skip) = match (words[i], words.get(i + 1).copied()) {
                ("thi", Some("tran")) => (Some(PlaceLevel::Commune), 2),
                ("thi", Some("xa")) => (Some(PlaceLevel::District), 2),
                ("thanh", Some("pho")) => (Some(PlaceLevel::Province), 2),
                ("xa", Some(next)) if next != "hoi" => (Some(PlaceLevel::Commune), 1),
                ("phuong", _) => (Some(PlaceLevel::Commune), 1),
                ("huyen" | "quan", _) => (Some(PlaceLevel::District), 1),
                ("tinh", _) => (Some(PlaceLevel::Province), 1),
                _ => (None, 1),
            };
            i += skip;
            let Some(level) = level else { continue };
            // The name: the words up to the next level word, a date or a number.
            let rest = &words[i..];
            let stops = |k: usize| {
                let next = rest.get(k + 1).copied();
                match rest[k] {
                    "xa" | "phuong" | "huyen" | "quan" | "tinh" | "nam" | "thang" | "ngay"
                    | "quy" | "danh" => true,
                    "thi" => matches!(next, Some("tran" | "xa")),
                    "thanh" => next == Some("pho"),
                    w => w.chars().any(|c| c.is_ascii_digit()),
                }
            };
            let len = (0..rest.len())
                .find(|&k| stops(k))
                .unwrap_or(rest.len())
                .min(5);
            let name = &rest[..len];
            if !name.is_empty() {
                out.push((level, name.join(" ")));
            }
        }
    }
    out
}

/// Whether two folded unit names are the same place ("tan lap" and "tan lap" — or one
/// written shorter than the other, "phu tho" and "phu tho moi").
pub fn same_place(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    let n = a.len().min(b.len());
    n > 0 && a[..n] == b[..n]
}

/// For storing/displaying a name: NFC, whitespace collapsed and trimmed (case kept).
pub fn clean_display(s: &str) -> Cow<'_, str> {
    if plainly_clean(s) {
        return Cow::Borrowed(s);
    }
    let nfc = is_nfc_quick(s.chars()) == IsNormalized::Yes;
    // Nearly every name is already clean: NFC, single spaces, nothing invisible.
    let clean = nfc
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars()
            .all(|c| (c == ' ' || !c.is_whitespace()) && !is_invisible(c));
    if clean {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    if nfc {
        for c in s.chars().filter(|&c| !is_invisible(c)) {
            push_collapsed(&mut out, &mut pending_space, c);
        }
    } else {
        for c in s.nfc().filter(|&c| !is_invisible(c)) {
            push_collapsed(&mut out, &mut pending_space, c);
        }
    }
    Cow::Owned(out)
}

/// The common name, told apart in one pass without the normalisation tables: single
/// spaces inside, and only characters that are NFC on their own and never combine (Latin
/// up to U+02FF, Vietnamese's precomposed letters U+1E00–U+1EFF; a test checks every one).
fn plainly_clean(s: &str) -> bool {
    // Byte by byte on the UTF-8 (valid, being a str): ASCII; two-byte letters up to U+02FF
    // (leads C2–CB) but for U+0085 and U+00A0, the whitespace among them; and the
    // three-byte U+1E00–U+1EFF (E1 B8–BB). Decoding each char costs more than this.
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut after_space = false;
    let mut i = 0;
    while let Some(&lead) = b.get(i) {
        match lead {
            b' ' => {
                if after_space {
                    return false;
                }
                after_space = true;
                i += 1;
                continue;
            }
            b'\t'..=b'\r' => return false,
            0..=0x7F => i += 1,
            0xC2..=0xCB => {
                if lead == 0xC2 && matches!(b.get(i + 1), Some(0x85 | 0xA0)) {
                    return false;
                }
                i += 2;
            }
            0xE1 if matches!(b.get(i + 1), Some(0xB8..=0xBB)) => i += 3,
            _ => return false,
        }
        after_space = false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_names_keep_case() {
        assert_eq!(ascii("Nguyễn Thị Đào"), "Nguyen Thi Dao");
        assert_eq!(ascii("ĐẶNG VĂN ĐỨC"), "DANG VAN DUC");
        assert_eq!(ascii("Lê A"), "Le A");
    }

    #[test]
    fn places_in_titles() {
        assert_eq!(
            places_named("UBND XÃ TÂN LẬP"),
            vec![(PlaceLevel::Commune, "tan lap".to_owned())]
        );
        assert_eq!(
            places_named("Xã Tân Lập, huyện Thanh Sơn, tỉnh Phú Thọ"),
            vec![
                (PlaceLevel::Commune, "tan lap".to_owned()),
                (PlaceLevel::District, "thanh son".to_owned()),
                (PlaceLevel::Province, "phu tho".to_owned())
            ]
        );
        assert!(
            places_named("DANH SÁCH CHI TRẢ TRỢ CẤP XÃ HỘI HÀNG THÁNG THÁNG 9/2024").is_empty()
        );
        assert_eq!(
            places_named("Thị trấn Hưng Hà"),
            vec![(PlaceLevel::Commune, "hung ha".to_owned())]
        );
        assert!(same_place("tan lap", "tan lap"));
        assert!(!same_place("tan lap", "tan phu"));
    }
    use proptest::prelude::*;

    #[test]
    fn fold_removes_diacritics_and_case() {
        assert_eq!(fold("Nguyễn Văn Đạt"), "nguyen van dat");
        assert_eq!(fold("Nguyễn Văn Đạt"), fold("NGUYEN  VAN DAT"));
        assert_eq!(fold("ĐỖ THỊ ỨNG"), "do thi ung");
    }

    #[test]
    fn fold_handles_decomposed_input() {
        let nfd: String = "Nguyễn Thị Hồng".nfd().collect();
        assert_ne!(nfd, "Nguyễn Thị Hồng");
        assert_eq!(fold(&nfd), "nguyen thi hong");
    }

    #[test]
    fn fold_collapses_whitespace_including_nbsp() {
        assert_eq!(fold("  Lê\u{00A0}\u{00A0}Văn\t Tám  "), "le van tam");
        assert_eq!(fold("  HO   TEN "), "ho ten");
        assert_eq!(fold(""), "");
        assert_eq!(fold(" \u{00A0} "), "");
    }

    #[test]
    fn fold_drops_bom_and_eth() {
        assert_eq!(fold("\u{FEFF}Họ tên"), "ho ten");
        assert_eq!(fold("Ðinh Văn A"), "dinh van a");
    }

    #[test]
    fn names_match_across_forms() {
        assert!(names_match("Trần Thị Bích", "TRAN THI BICH"));
        assert!(names_match("tran  thi bich", "TRAN THI BICH "));
        assert!(names_match("Phạm Đức", "Pham Duc"));
        assert!(!names_match("Phạm Đức", "Pham Dung"));
        assert!(!names_match("Le Van", "Le Van A"));
    }

    #[test]
    fn plainly_clean_characters_are_nfc_and_never_combine() {
        use unicode_normalization::char::canonical_combining_class;
        let plain = (0u32..0x300)
            .chain(0x1E00..=0x1EFF)
            .filter_map(char::from_u32);
        for c in plain.filter(|c| !c.is_whitespace()) {
            assert_eq!(is_nfc_quick(std::iter::once(c)), IsNormalized::Yes, "{c:?}");
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            assert!(!is_invisible(c), "{c:?}");
        }
        assert!(plainly_clean("Nguyễn Văn Đạt"));
        assert!(!plainly_clean("Nguyễn  Văn"));
        assert!(!plainly_clean(" Lê"));
        assert!(!plainly_clean("Lê\tVăn"));
        assert!(!plainly_clean("Le\u{0301}"));
    }

    /// `plainly_clean`'s rule as first written, char by char.
    fn plainly_clean_by_chars(s: &str) -> bool {
        let no_edge = !s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  ");
        no_edge
            && s.chars().all(|c| {
                let u = u32::from(c);
                c == ' ' || (u < 0x300 && !c.is_whitespace()) || (0x1E00..=0x1EFF).contains(&u)
            })
    }

    #[test]
    fn plainly_clean_agrees_on_every_char() {
        for c in (0u32..0x11000).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("a{c}b"), format!("{c} {c}")] {
                assert_eq!(plainly_clean(&s), plainly_clean_by_chars(&s), "{c:?}");
            }
        }
    }

    #[test]
    fn clean_display_nfc_and_whitespace() {
        let nfd: String = "Nguyễn  Văn Đạt".nfd().collect();
        assert_eq!(clean_display(&nfd), "Nguyễn Văn Đạt");
        assert_eq!(clean_display("  Lê\u{00A0}Văn  Tám "), "Lê Văn Tám");
        assert_eq!(clean_display("ABC"), "ABC");
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC*") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert_eq!(once.trim(), once.as_str());
        }

        #[test]
        fn names_match_agrees_with_fold(a in "[a-zA-Z ]{0,12}", b in "[a-zA-Z ]{0,12}") {
            prop_assert_eq!(names_match(&a, &b), fold(&a) == fold(&b));
        }

        #[test]
        fn plainly_clean_reads_bytes_as_its_rule_reads_chars(
            s in "[a-zA-Z \t\u{1}\u{7f}\u{85}\u{a0}\u{c0}-\u{2ff}\u{300}-\u{36f}\u{1dff}-\u{1f00}\u{3000}]{0,8}",
        ) {
            prop_assert_eq!(plainly_clean(&s), plainly_clean_by_chars(&s));
        }

        #[test]
        fn clean_display_is_idempotent(s in "\\PC*") {
            let once = clean_display(&s);
            prop_assert_eq!(clean_display(&once), once.clone());
        }
    }

    proptest! {
        // The table-driven comparison must agree with fold() on Vietnamese text,
        // invisible characters and stray combining marks included.
        #[test]
        fn names_match_agrees_with_fold_vietnamese(
            a in "[ a-zA-ZàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễđĐðøßÆ\t\u{b}\u{85}\u{00A0}\u{200B}\u{0301}]{0,16}",
            b in "[ a-zA-ZàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễđĐðøßÆ\t\u{b}\u{85}\u{00A0}\u{200B}\u{0301}]{0,16}",
        ) {
            prop_assert_eq!(names_match(&a, &b), fold(&a) == fold(&b));
            let upper = fold(&a).to_uppercase();
            prop_assert_eq!(names_match(&a, &upper), fold(&a) == fold(&upper));
        }

        #[test]
        fn names_match_agrees_with_fold_anything(a in "\\PC*", b in "\\PC*") {
            prop_assert_eq!(names_match(&a, &b), fold(&a) == fold(&b));
            prop_assert!(names_match(&a, &a));
        }
    }
}
