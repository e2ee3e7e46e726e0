//! Legacy Vietnamese 8-bit text (TCVN3/ABC, VNI-Windows) that reached us as Windows-1252.
//!
//! Old office lists were typed with fonts such as `.VnTime` (TCVN3) or `VNI-Times` (VNI) that
//! draw Vietnamese letters over Latin-1 code points. Excel keeps each byte as the cp1252
//! character of that value, so a cell holds `Hä vµ tªn` where the clerk saw "Họ và tên".
//! [`guess`] tells whether a sheet's texts look like that, [`Legacy::to_unicode`] repairs them.
//!
//! Every byte either encoding uses for a letter is 0x01–0x1F or 0xA0–0xFF, where the cp1252
//! character has the byte's own value; 0x80–0x9F stay cp1252 punctuation (“ ” – …), as in
//! UniKey's converter. Tables: UniKey vnconv `data.cpp` (TCVN3 `SingleByteTables`, VNI-WIN
//! `DoubleByteTables`), cross-checked with duydev/vietnamese-conversion `charsets.ts` and, for
//! TCVN3, libiconv's TCVN-5712 table (XFree86 `lcUniConv/tcvn.h`).

/// A legacy Vietnamese 8-bit encoding whose text reached us as Windows-1252 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    Tcvn3,
    Vni,
}

/// Vowel rows in the tone order of all tables below: none, sắc, huyền, hỏi, ngã, nặng.
const VOWELS: [[char; 6]; 12] = [
    ['a', 'á', 'à', 'ả', 'ã', 'ạ'],
    ['ă', 'ắ', 'ằ', 'ẳ', 'ẵ', 'ặ'],
    ['â', 'ấ', 'ầ', 'ẩ', 'ẫ', 'ậ'],
    ['e', 'é', 'è', 'ẻ', 'ẽ', 'ẹ'],
    ['ê', 'ế', 'ề', 'ể', 'ễ', 'ệ'],
    ['i', 'í', 'ì', 'ỉ', 'ĩ', 'ị'],
    ['o', 'ó', 'ò', 'ỏ', 'õ', 'ọ'],
    ['ô', 'ố', 'ồ', 'ổ', 'ỗ', 'ộ'],
    ['ơ', 'ớ', 'ờ', 'ở', 'ỡ', 'ợ'],
    ['u', 'ú', 'ù', 'ủ', 'ũ', 'ụ'],
    ['ư', 'ứ', 'ừ', 'ử', 'ữ', 'ự'],
    ['y', 'ý', 'ỳ', 'ỷ', 'ỹ', 'ỵ'],
];

/// TCVN3 (VN3) bytes of the lowercase `VOWELS`; the "H" fonts draw capitals at the same bytes.
const TCVN3: [[u8; 6]; 12] = [
    [b'a', 0xB8, 0xB5, 0xB6, 0xB7, 0xB9],
    [0xA8, 0xBE, 0xBB, 0xBC, 0xBD, 0xC6],
    [0xA9, 0xCA, 0xC7, 0xC8, 0xC9, 0xCB],
    [b'e', 0xD0, 0xCC, 0xCE, 0xCF, 0xD1],
    [0xAA, 0xD5, 0xD2, 0xD3, 0xD4, 0xD6],
    [b'i', 0xDD, 0xD7, 0xD8, 0xDC, 0xDE],
    [b'o', 0xE3, 0xDF, 0xE1, 0xE2, 0xE4],
    [0xAB, 0xE8, 0xE5, 0xE6, 0xE7, 0xE9],
    [0xAC, 0xED, 0xEA, 0xEB, 0xEC, 0xEE],
    [b'u', 0xF3, 0xEF, 0xF1, 0xF2, 0xF4],
    [0xAD, 0xF8, 0xF5, 0xF6, 0xF7, 0xF9],
    [b'y', 0xFD, 0xFA, 0xFB, 0xFC, 0xFE],
];

/// The capitals VN3 has, and đ.
const TCVN3_OTHER: ([u8; 8], &str) = ([0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xAE], "ĂÂÊÔƠƯĐđ");

/// Toned capitals of full TCVN 5712 (VN1, libiconv) at bytes VN3 leaves free. VN1's capitals at
/// 0x80–0x9F and its combining marks at 0xB0–0xB4 are left out: in cp1252 text those are real
/// punctuation and symbols (“ ” – … ° ±), and UniKey's TCVN3 keeps them so.
const TCVN3_VN1: ([u8; 28], &str) = (
    [
        0x01, 0x02, 0x04, 0x05, 0x06, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0xAF, 0xBA, 0xBF,
        0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xCD, 0xD9, 0xDA, 0xDB, 0xE0, 0xF0, 0xFF,
    ],
    "ÚỤỪỬỮỨỰỲỶỸÝỴẰẲẴẮẦẨẪẤỀỂỄẾỒỔỖỐ",
);

/// VNI-Windows spelling (as cp1252 text) of the lowercase `VOWELS`: a base letter and a mark
/// byte, or a single byte. Capitals are the same with both characters upper-cased.
const VNI: [[&str; 6]; 12] = [
    ["a", "aù", "aø", "aû", "aõ", "aï"],
    ["aê", "aé", "aè", "aú", "aü", "aë"],
    ["aâ", "aá", "aà", "aå", "aã", "aä"],
    ["e", "eù", "eø", "eû", "eõ", "eï"],
    ["eâ", "eá", "eà", "eå", "eã", "eä"],
    ["i", "í", "ì", "æ", "ó", "ò"],
    ["o", "où", "oø", "oû", "oõ", "oï"],
    ["oâ", "oá", "oà", "oå", "oã", "oä"],
    ["ô", "ôù", "ôø", "ôû", "ôõ", "ôï"],
    ["u", "uù", "uø", "uû", "uõ", "uï"],
    ["ö", "öù", "öø", "öû", "öõ", "öï"],
    ["y", "yù", "yø", "yû", "yõ", "î"],
];

/// VNI's đ; Đ is its capital, Ñ.
const VNI_DD: char = 'ñ';

impl Legacy {
    /// Human name for notices: "TCVN3 (ABC)" / "VNI".
    pub fn name(self) -> &'static str {
        match self {
            Legacy::Tcvn3 => "TCVN3 (ABC)",
            Legacy::Vni => "VNI",
        }
    }

    /// The encoding a font name implies: ".VnTime", ".VnArial", ".VnTimeH" (any font whose name
    /// starts with ".Vn", case-insensitive) -> Tcvn3; "VNI-Times", "VNI-Helve", "VNI-..." -> Vni;
    /// anything else None.
    pub fn from_font(font_name: &str) -> Option<Legacy> {
        let name = font_name.trim();
        let starts = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if starts(".vn") {
            Some(Legacy::Tcvn3)
        } else if starts("vni-") {
            Some(Legacy::Vni)
        } else {
            None
        }
    }

    /// Convert one text to Unicode (NFC, precomposed). Characters that are not part of the
    /// encoding's mapping (plain ASCII, digits, punctuation) pass through unchanged. Must be
    /// total: any input gives some output, never panics.
    pub fn to_unicode(self, text: &str) -> String {
        match self {
            Legacy::Tcvn3 => text.chars().map(|c| tcvn3_char(c).unwrap_or(c)).collect(),
            Legacy::Vni => vni_to_unicode(text),
        }
    }
}

fn tcvn3_char(c: char) -> Option<char> {
    let b = u8::try_from(u32::from(c)).ok()?;
    if (0x20..0xA1).contains(&b) {
        return None;
    }
    VOWELS
        .iter()
        .zip(TCVN3.iter())
        .flat_map(|(letters, bytes)| letters.iter().zip(bytes.iter()))
        .map(|(&letter, &byte)| (byte, letter))
        .chain(pairs(TCVN3_OTHER).chain(pairs(TCVN3_VN1)))
        .find(|&(byte, _)| byte == b)
        .map(|(_, letter)| letter)
}

fn pairs<const N: usize>((bytes, letters): ([u8; N], &str)) -> impl Iterator<Item = (u8, char)> {
    bytes.into_iter().zip(letters.chars())
}

fn lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// The letter VNI spells with `first` (and `second`, if that is its mark), and how many
/// characters it took. Case comes from the base letter, so `Aù` and `AÙ` both give `Á`.
fn vni_letter(first: char, second: Option<char>) -> Option<(char, usize)> {
    let (f, s) = (lower(first), second.map(lower));
    let entries = || {
        VOWELS
            .iter()
            .zip(VNI.iter())
            .flat_map(|(letters, spellings)| letters.iter().zip(spellings.iter()))
    };
    let pair = entries().find_map(|(&letter, spelling)| {
        let mut it = spelling.chars();
        let hit = it.next() == Some(f) && s.is_some() && it.next() == s && it.next().is_none();
        hit.then_some((letter, 2))
    });
    let single = || {
        entries()
            .find(|(_, spelling)| spelling.chars().eq([f]) && !f.is_ascii())
            .map(|(&letter, _)| (letter, 1))
            .or((f == VNI_DD).then_some(('đ', 1)))
    };
    let (letter, len) = pair.or_else(single)?;
    let letter = if first.is_uppercase() {
        upper(letter)
    } else {
        letter
    };
    Some((letter, len))
}

fn vni_to_unicode(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match vni_letter(c, chars.get(i + 1).copied()) {
            Some((letter, len)) => {
                out.push(letter);
                i += len;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Guess from the texts of a sheet (cell strings, e.g. the first few hundred) whether they are
/// legacy-encoded, and which. None for ordinary Unicode Vietnamese or English text.
///
/// Evidence is counted per word that has non-ASCII characters: a candidate scores when its
/// conversion changes the word into a well-formed Vietnamese syllable. It must win clearly,
/// cover most such words, beat reading the words as they stand, and produce common words;
/// real Unicode Vietnamese letters (ạ ơ ư đ …), which cp1252 cannot hold, veto the guess.
pub fn guess<'a>(texts: impl IntoIterator<Item = &'a str>) -> Option<Legacy> {
    const CANDIDATES: [Legacy; 2] = [Legacy::Tcvn3, Legacy::Vni];
    let (mut ascii, mut unicode, mut legacy, mut as_is) = (0usize, 0usize, 0usize, 0usize);
    let (mut valid, mut common) = ([0usize; 2], [0usize; 2]);
    let words = texts
        .into_iter()
        .take(5_000)
        .flat_map(str::split_whitespace)
        .take(50_000);
    for raw in words {
        let word = raw.trim_matches(|c: char| {
            c.is_ascii_punctuation() || ('\u{2010}'..='\u{2027}').contains(&c)
        });
        // ASCII digits only: TCVN3 letters include ¹ ¼ ½ ¾, which Unicode calls numeric.
        if word.is_empty() || word.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        if word.is_ascii() {
            ascii += 1;
            continue;
        }
        if word.chars().any(is_unicode_vietnamese) {
            unicode += 1;
            continue;
        }
        legacy += 1;
        as_is += usize::from(is_syllable(word));
        for (k, enc) in CANDIDATES.iter().enumerate() {
            let converted = enc.to_unicode(word);
            if converted != word && is_syllable(&converted) {
                let lowered = converted.to_lowercase();
                valid[k] += 1;
                common[k] += usize::from(COMMON.split_whitespace().any(|w| w == lowered));
            }
        }
    }
    if unicode > 0 && unicode * 20 >= legacy {
        return None;
    }
    let (best, other) = if valid[0] >= valid[1] { (0, 1) } else { (1, 0) };
    let v = valid[best];
    let fires = v >= 4
        && v * 10 >= legacy * 7
        && v >= as_is * 2
        && valid[other] * 2 < v
        && common[other] * 3 < common[best].max(1)
        && legacy * 4 >= legacy + ascii
        && (common[best] >= 2 || v >= 12);
    if fires {
        CANDIDATES.get(best).copied()
    } else {
        None
    }
}

/// Letters only Unicode Vietnamese text can contain: no cp1252 character is one of them.
fn is_unicode_vietnamese(c: char) -> bool {
    ('\u{1EA0}'..='\u{1EF9}').contains(&c) || "ĂăĐđĨĩŨũƠơƯư".contains(c)
}

/// Frequent words of office lists (headers, places, names), for validating a guess.
const COMMON: &str = "\
    họ và tên số tiền xã năm ngày tháng địa chỉ được hưởng đồng định cá nhân tài \
    khoản ngân hàng phường huyện tỉnh thôn ấp xóm tổ phố quận người đối tượng chú mã \
    giới tính nữ thị văn nguyễn trần lê phạm hoàng huỳnh vũ võ đặng bùi đỗ hồ ngô \
    dương lý đức hữu thành công cộng tổng lập tân việt nông nghiệp tuổi chứng ký \
    nhận đơn vị ông bà của có không các cho trợ cấp hộ nghèo chính sách bảo hiểm \
    điện thoại quê quán dân tộc yêu cầu";

const ONSETS: [&str; 28] = [
    "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu", "b", "c", "d", "đ", "g",
    "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "",
];

const NUCLEI: [&str; 55] = [
    "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay", "âu", "ây",
    "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "oo", "ua", "uâ", "uê", "ui",
    "uô", "uơ", "uy", "ưa", "ưi", "ươ", "ưu", "yê", "iêu", "oai", "oao", "oay", "oeo", "uây",
    "uôi", "uya", "uyê", "uyu", "ươi", "ươu", "yêu",
];

const CODAS: [&str; 9] = ["ch", "ng", "nh", "c", "m", "n", "p", "t", ""];

/// Whether `word` is one well-formed Vietnamese syllable: onset, vowel nucleus, coda, at most
/// one tone, and only sắc or nặng before a stop (-c -ch -p -t).
fn is_syllable(word: &str) -> bool {
    let mut plain = String::with_capacity(word.len());
    let mut tone = 0;
    for c in word.chars().map(lower) {
        let found = VOWELS
            .iter()
            .find_map(|row| row.iter().position(|&v| v == c).map(|t| (row[0], t)));
        match found {
            Some((base, t)) => {
                if t > 0 {
                    if tone > 0 {
                        return false;
                    }
                    tone = t;
                }
                plain.push(base);
            }
            None if c == 'đ' || (c.is_ascii_lowercase() && !"fjwz".contains(c)) => plain.push(c),
            None => return false,
        }
    }
    ONSETS.iter().any(|onset| {
        plain.strip_prefix(onset).is_some_and(|rest| {
            CODAS.iter().any(|coda| {
                rest.strip_suffix(coda)
                    .is_some_and(|nucleus| NUCLEI.contains(&nucleus))
                    && (!matches!(*coda, "c" | "ch" | "p" | "t") || tone == 1 || tone == 5)
            })
        })
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test-only encoder: Unicode -> legacy bytes -> cp1252 characters, from the same tables.
    pub(crate) fn encode(enc: Legacy, text: &str) -> Option<String> {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii() {
                out.push(c);
                continue;
            }
            match enc {
                Legacy::Tcvn3 => out.push(
                    (1..=0xFFu8)
                        .map(char::from)
                        .find(|&b| tcvn3_char(b) == Some(c))?,
                ),
                Legacy::Vni => {
                    let l = lower(c);
                    let spelling = if l == 'đ' {
                        VNI_DD.to_string()
                    } else {
                        VOWELS
                            .iter()
                            .zip(VNI.iter())
                            .flat_map(|(ls, ss)| ls.iter().zip(ss.iter()))
                            .find(|(v, _)| **v == l)
                            .map(|(_, s)| s.to_string())?
                    };
                    if c == l {
                        out.push_str(&spelling);
                    } else {
                        out.extend(spelling.chars().map(upper));
                    }
                }
            }
        }
        Some(out)
    }

    const OFFICE: [&str; 13] = [
        "Họ và tên",
        "Số tiền được hưởng (đồng)",
        "Số định danh cá nhân",
        "Xã Tân Lập",
        "Nguyễn Thị Hồng Nhung",
        "Trần Văn Đức",
        "Phường Hà Cầu",
        "Người cao tuổi",
        "Ngày tháng năm sinh",
        "Số tài khoản",
        "Ngân hàng Nông nghiệp",
        "Đối tượng",
        "Ghi chú",
    ];

    /// The 67 lowercase letters beyond ASCII: 12 vowels × 6 tones, less a e i o u y, plus đ.
    fn letters() -> Vec<char> {
        let mut all: Vec<char> = VOWELS
            .iter()
            .flatten()
            .copied()
            .filter(|c| !c.is_ascii())
            .collect();
        all.push('đ');
        all
    }

    fn round_trip(enc: Legacy, text: &str) {
        match encode(enc, text) {
            Some(legacy) => assert_eq!(enc.to_unicode(&legacy), text, "{enc:?} via {legacy:?}"),
            None => panic!("{enc:?} cannot encode {text:?}"),
        }
    }

    #[test]
    fn tables_are_consistent() {
        assert_eq!(pairs(TCVN3_OTHER).count(), TCVN3_OTHER.1.chars().count());
        assert_eq!(pairs(TCVN3_VN1).count(), TCVN3_VN1.1.chars().count());
        // No byte means two letters, and none is cp1252 punctuation (0x80–0x9F).
        let bytes: Vec<u8> = (1..=0xFFu8)
            .filter(|&b| tcvn3_char(char::from(b)).is_some())
            .collect();
        assert_eq!(bytes.len(), 6 * 11 + 8 + 28);
        assert!(bytes.iter().all(|b| !(0x20..=0xA0).contains(b)));
        assert_eq!(
            COMMON
                .split_whitespace()
                .filter(|w| !is_syllable(w))
                .count(),
            0
        );
    }

    #[test]
    fn office_texts_round_trip() {
        for enc in [Legacy::Tcvn3, Legacy::Vni] {
            for text in OFFICE {
                round_trip(enc, text);
                assert_ne!(encode(enc, text).as_deref(), Some(text));
            }
        }
    }

    #[test]
    fn every_lowercase_letter_round_trips() {
        let all = letters();
        assert_eq!(all.len(), 67);
        for enc in [Legacy::Tcvn3, Legacy::Vni] {
            for &c in &all {
                round_trip(enc, &c.to_string());
                round_trip(enc, &format!("t{c}n {c}"));
            }
            round_trip(enc, &all.iter().collect::<String>());
        }
    }

    #[test]
    fn capitals_round_trip_where_defined() {
        let capitals: Vec<char> = letters().into_iter().map(upper).collect();
        for &c in &capitals {
            round_trip(Legacy::Vni, &c.to_string());
        }
        round_trip(Legacy::Vni, &capitals.iter().collect::<String>());
        round_trip(Legacy::Vni, "HỌ VÀ TÊN NGƯỜI ĐƯỢC HƯỞNG");
        let tcvn3: Vec<char> = capitals
            .into_iter()
            .filter(|&c| encode(Legacy::Tcvn3, &c.to_string()).is_some())
            .collect();
        // VN3's Ă Â Ê Ô Ơ Ư Đ and the 28 toned capitals taken from VN1.
        assert_eq!(tcvn3.len(), 35);
        for c in "ĂÂÊÔƠƯĐÚÝỨỰ".chars() {
            assert!(tcvn3.contains(&c), "{c}");
        }
        round_trip(Legacy::Tcvn3, &tcvn3.iter().collect::<String>());
    }

    #[test]
    fn known_literal_samples() {
        let tcvn3 = [
            ("Hä vµ tªn", "Họ và tên"),
            ("Xin chµo c¸c b¹n", "Xin chào các bạn"),
            ("T«i ®i häc", "Tôi đi học"),
            ("B¶o Th¾ng", "Bảo Thắng"),
            ("M\u{ad}êng Kh\u{ad}¬ng", "Mường Khương"),
            ("B¸t X¸t", "Bát Xát"),
            ("§Þa chØ", "Địa chỉ"),
        ];
        for (legacy, unicode) in tcvn3 {
            assert_eq!(Legacy::Tcvn3.to_unicode(legacy), unicode);
        }
        let vni = [
            ("Soá tieàn", "Số tiền"),
            ("Xin chaøo caùc baïn", "Xin chào các bạn"),
            ("Toâi ñi hoïc", "Tôi đi học"),
            ("Ñòa chæ", "Địa chỉ"),
            ("Ngöôøi cao tuoåi", "Người cao tuổi"),
        ];
        for (legacy, unicode) in vni {
            assert_eq!(Legacy::Vni.to_unicode(legacy), unicode);
        }
    }

    #[test]
    fn other_characters_pass_through() {
        let plain = "STT 1.234.567,00 (1) [x] “quoted” – 100 € … ™ ° ± A-Z a-z";
        assert_eq!(Legacy::Tcvn3.to_unicode(plain), plain);
        assert_eq!(Legacy::Vni.to_unicode(plain), plain);
        for odd in [
            "",
            "ù",
            "aù\u{301}",
            "\u{0}\u{1}\u{81}\u{9D}",
            "日本語 🦀",
            "ñ",
            "Ñ",
            "ÿ",
        ] {
            let _ = Legacy::Tcvn3.to_unicode(odd);
            let _ = Legacy::Vni.to_unicode(odd);
        }
    }

    fn sheet() -> Vec<&'static str> {
        let mut texts = vec!["STT", "Mã số", "Địa chỉ", "Số điện thoại", "Trợ cấp xã hội"];
        texts.extend(OFFICE);
        texts.extend([
            "Lê Thị Lan",
            "Phạm Minh Tuấn",
            "Hoàng Văn Bình",
            "Thôn Đông",
        ]);
        texts
    }

    #[test]
    fn guess_recognises_legacy_sheets() {
        for enc in [Legacy::Tcvn3, Legacy::Vni] {
            let encoded: Vec<String> = sheet().iter().filter_map(|t| encode(enc, t)).collect();
            assert_eq!(encoded.len(), sheet().len());
            assert_eq!(guess(encoded.iter().map(String::as_str)), Some(enc));
            // Headers alone are enough.
            let headers: Vec<String> = OFFICE[..4].iter().filter_map(|t| encode(enc, t)).collect();
            assert_eq!(guess(headers.iter().map(String::as_str)), Some(enc));
        }
        let literal = ["Hä vµ tªn", "Ngµy sinh", "Sè tiÒn", "§Þa chØ", "Ghi chó"];
        assert_eq!(guess(literal), Some(Legacy::Tcvn3));
        // ¹ ¼ ½ ¾ are letters here (ạ ẳ ẵ ắ), not numbers.
        let literal = ["B¹n §Æng", "B¶o Th¾ng", "L¹i V¨n B½", "Ph¹m ¸nh"];
        assert_eq!(guess(literal), Some(Legacy::Tcvn3));
        let literal = [
            "Hoï vaø teân",
            "Ngaøy sinh",
            "Soá tieàn",
            "Ñòa chæ",
            "Ghi chuù",
        ];
        assert_eq!(guess(literal), Some(Legacy::Vni));
    }

    #[test]
    fn guess_leaves_ordinary_text_alone() {
        assert_eq!(guess(sheet()), None);
        assert_eq!(
            guess(["Tên", "Mã số", "Có", "Không", "Tên ông bà", "Là có"]),
            None
        );
        let english = [
            "Full name",
            "Amount",
            "Account number",
            "Bank",
            "Notes",
            "Date",
        ];
        assert_eq!(guess(english), None);
        assert_eq!(
            guess(["1", "2.500.000", "12/03/1950", "0912345678", "-"]),
            None
        );
        assert_eq!(
            guess(["Café Müller", "Crème brûlée", "Zoë Çelik", "São Paulo"]),
            None
        );
        let spanish = [
            "sí, tú y él están aquí",
            "más café en la página",
            "José Núñez",
        ];
        assert_eq!(guess(spanish), None);
        let french = ["où est le café près de la gare à Paris", "déjà été là-bas"];
        assert_eq!(guess(french), None);
        assert_eq!(guess(std::iter::empty()), None);
        // One converted cell among legacy ones is allowed; many are not.
        let mut mixed: Vec<String> = sheet()
            .iter()
            .filter_map(|t| encode(Legacy::Tcvn3, t))
            .collect();
        mixed.extend(sheet().iter().map(|t| t.to_string()));
        assert_eq!(guess(mixed.iter().map(String::as_str)), None);
    }

    #[test]
    fn fonts_and_names() {
        for font in [
            ".VnTime",
            ".VnArial",
            ".VnTimeH",
            ".vnarialh",
            " .VnCentury Schoolbook",
        ] {
            assert_eq!(Legacy::from_font(font), Some(Legacy::Tcvn3), "{font}");
        }
        for font in ["VNI-Times", "VNI-Helve", "vni-helve-condense", "VNI-Aptima"] {
            assert_eq!(Legacy::from_font(font), Some(Legacy::Vni), "{font}");
        }
        for font in ["Times New Roman", "Arial", "VnTime", "VNI", "", "Ñ", "日本"] {
            assert_eq!(Legacy::from_font(font), None, "{font}");
        }
        assert_eq!(Legacy::Tcvn3.name(), "TCVN3 (ABC)");
        assert_eq!(Legacy::Vni.name(), "VNI");
    }
}
