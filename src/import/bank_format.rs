//! Banks' own file formats, recognised by their content (never their name): ISO 20022
//! XML messages (payment orders, status reports, statements and notifications) and SWIFT
//! MT940/MT942 statements. A file in one of them is named as what it is, so nobody is told
//! to "open it in Excel and save it as .xlsx", which would destroy a statement.

/// A bank format recognised in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankFormat {
    /// An ISO 20022 message: `message` as `camt.054`, `version` as `001.08` when the
    /// namespace names it.
    Iso20022 {
        message: &'static str,
        version: Option<String>,
    },
    /// A SWIFT statement: `MT940` (end of day) or `MT942` (intraday).
    Swift { mt: &'static str },
}

/// ISO 20022 messages a bank exchanges with a payer, by code and by the element that opens
/// the message inside `<Document>` (files without a namespace still have it).
const ISO_MESSAGES: [(&str, &str, &str, &str); 6] = [
    (
        "pain.001",
        "CstmrCdtTrfInitn",
        "lệnh chuyển tiền (payment initiation)",
        "credit transfer initiation (payment orders)",
    ),
    (
        "pain.002",
        "CstmrPmtStsRpt",
        "báo cáo trạng thái thanh toán",
        "payment status report",
    ),
    (
        "pain.008",
        "CstmrDrctDbtInitn",
        "lệnh thu nợ tự động (direct debit)",
        "direct debit initiation",
    ),
    (
        "camt.052",
        "BkToCstmrAcctRpt",
        "báo cáo tài khoản trong ngày",
        "intraday account report",
    ),
    (
        "camt.053",
        "BkToCstmrStmt",
        "sao kê tài khoản",
        "account statement",
    ),
    (
        "camt.054",
        "BkToCstmrDbtCdtNtfctn",
        "thông báo ghi nợ/ghi có",
        "debit/credit notification",
    ),
];

/// How much of a file is looked at: a message's namespace and root are at its top, an
/// MT940's first tags within its first lines (after a bank's own title, sometimes).
const HEAD: usize = 64 * 1024;

impl BankFormat {
    /// "ISO 20022 camt.054.001.08", "SWIFT MT940".
    pub fn name(&self) -> String {
        match self {
            BankFormat::Iso20022 {
                message,
                version: Some(v),
            } => format!("ISO 20022 {message}.{v}"),
            BankFormat::Iso20022 { message, .. } => format!("ISO 20022 {message}"),
            BankFormat::Swift { mt } => format!("SWIFT {mt}"),
        }
    }

    /// What the message is, in Vietnamese and in English.
    pub fn what(&self) -> (&'static str, &'static str) {
        match self {
            BankFormat::Iso20022 { message, .. } => ISO_MESSAGES
                .iter()
                .find(|m| m.0 == *message)
                .map_or(("thông điệp ngân hàng", "bank message"), |m| {
                    (m.2, m.3)
                }),
            BankFormat::Swift { mt: "MT942" } => ("sao kê trong ngày", "intraday statement"),
            BankFormat::Swift { .. } => ("sao kê tài khoản", "account statement"),
        }
    }
}

/// The bank format of a file, if it is one.
pub fn recognise(bytes: &[u8]) -> Option<BankFormat> {
    let head = &bytes[..bytes.len().min(HEAD)];
    // UTF-16 XML is rare from banks but possible: look at its ASCII bytes.
    let text: std::borrow::Cow<'_, [u8]> =
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            head.iter()
                .copied()
                .filter(|b| *b != 0)
                .collect::<Vec<u8>>()
                .into()
        } else {
            head.into()
        };
    let body = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'<') {
        return iso20022(body);
    }
    swift(body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An ISO 20022 message: by its code in a namespace or schema name (the ISO namespace
/// `urn:iso:std:iso:20022:tech:xsd:camt.054.001.08`, or a national variant such as SIX's
/// `pain.002.001.03.ch.02.xsd`), else by the element that opens it.
fn iso20022(xml: &[u8]) -> Option<BankFormat> {
    let opens = |m: &(&str, &str, &str, &str)| {
        find(xml, format!("<{}>", m.1).as_bytes()).is_some()
            || find(xml, format!(":{}>", m.1).as_bytes()).is_some()
            || find(xml, format!("<{} ", m.1).as_bytes()).is_some()
    };
    let named = |m: &(&str, &str, &str, &str)| -> Option<String> {
        let code = format!("{}.", m.0);
        let at = find(xml, code.as_bytes())?;
        let v = xml.get(at + code.len()..at + code.len() + 6)?;
        let shaped = v[..3].iter().all(u8::is_ascii_digit)
            && v[3] == b'.'
            && v[4..].iter().all(u8::is_ascii_digit);
        shaped.then(|| String::from_utf8_lossy(v).into_owned())
    };
    // The element that opens the message is unambiguous (a status report names the
    // orders it answers, `pain.001.001.03`, in its body); the version is that message's.
    if let Some(m) = ISO_MESSAGES.iter().find(|m| opens(m)) {
        return Some(BankFormat::Iso20022 {
            message: m.0,
            version: named(m),
        });
    }
    ISO_MESSAGES.iter().find_map(|m| {
        named(m).map(|v| BankFormat::Iso20022 {
            message: m.0,
            version: Some(v),
        })
    })
}

/// A SWIFT MT940/MT942 statement: lines that open with SWIFT tags (`:20:`, `:25:`,
/// `:60F:`, `:61:`, …). A text that opens with a tag is one (no CSV does); else it needs a
/// `:20:` reference and one of the statement's own tags, or tags on most lines. Some banks
/// put a title or a `{1:…}{2:…}` header first.
fn swift(text: &[u8]) -> Option<BankFormat> {
    const OWN: [&[u8]; 11] = [
        b":25:", b":28:", b":28C:", b":60F:", b":60M:", b":61:", b":62F:", b":62M:", b":86:",
        b":64:", b":65:",
    ];
    const INTRADAY: [&[u8]; 3] = [b":34F:", b":13D:", b":13:"];
    let (mut own, mut reference, mut intraday, mut lines, mut tagged) = (0, false, false, 0, 0);
    let mut opens_with_tag = None;
    for line in text.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
        if line.is_empty() {
            continue;
        }
        lines += 1;
        // A `{4:` block may open on the same line as the first tag.
        let line = match find(line, b"{4:") {
            Some(at) => line[at + 3..].trim_ascii_start(),
            None => line,
        };
        let is_tag = line.len() > 3
            && line[0] == b':'
            && line[1..3].iter().all(u8::is_ascii_digit)
            && (line[3] == b':'
                || (line.len() > 4 && line[3].is_ascii_uppercase() && line[4] == b':'));
        opens_with_tag.get_or_insert(is_tag);
        if !is_tag {
            continue;
        }
        tagged += 1;
        reference |= line.starts_with(b":20:");
        if OWN.iter().any(|t| line.starts_with(t)) {
            own += 1;
        }
        if INTRADAY.iter().any(|t| line.starts_with(t)) {
            intraday = true;
            own += 1;
        }
    }
    // A text that opens with a tag is SWIFT (no CSV does); else a `:20:` reference, or
    // tags on most lines.
    let opens = opens_with_tag == Some(true);
    // Other SWIFT messages (MT101, MT103) also open with `:20:`: those are payment orders,
    // by their own tags (`:32A:` value date and amount, `:59:` beneficiary…).
    let order = [
        b":23B:".as_slice(),
        b":32A:",
        b":32B:",
        b":50K:",
        b":50H:",
        b":59:",
        b":59A:",
        b":71A:",
    ]
    .iter()
    .any(|t| find(text, t).is_some());
    let statement = !order
        && ((own >= 1 && (reference || opens || tagged * 2 >= lines)) || (reference && opens));
    if !statement {
        return None;
    }
    let header_942 = find(text, b"{2:I942")
        .or_else(|| find(text, b"{2:O942"))
        .is_some();
    Some(BankFormat::Swift {
        mt: if intraday || header_942 {
            "MT942"
        } else {
            "MT940"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Option<String> {
        recognise(text.as_bytes()).map(|f| f.name())
    }

    #[test]
    fn iso_messages_by_namespace_or_root() {
        assert_eq!(
            name(
                r#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>"#
            ),
            Some("ISO 20022 camt.054.001.08".into())
        );
        assert_eq!(
            name(
                "\u{feff}<?xml version=\"1.0\"?>\n<Document xmlns:xsi=\"x\" xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.03\">"
            ),
            Some("ISO 20022 pain.002.001.03".into())
        );
        assert_eq!(
            name("<Document><BkToCstmrStmt><GrpHdr>"),
            Some("ISO 20022 camt.053".into()),
            "no namespace: by the root"
        );
        assert_eq!(
            name("<ns2:Document xmlns:ns2=\"y\"><ns2:CstmrCdtTrfInitn>"),
            Some("ISO 20022 pain.001".into())
        );
        assert_eq!(
            name(
                "<Document xmlns=\"http://www.six-interbank-clearing.com/de/pain.002.001.03.ch.02.xsd\"><CstmrPmtStsRpt>"
            ),
            Some("ISO 20022 pain.002.001.03".into()),
            "a national variant's schema name"
        );
        assert_eq!(
            name("<html><table><tr><td>1</td></tr></table></html>"),
            None
        );
        assert_eq!(name("<?xml version=\"1.0\"?><note>hi</note>"), None);
    }

    #[test]
    fn swift_statements_by_their_tags() {
        let mt940 = ":20:STARTUMSE\r\n:25:20752041/0291593375\r\n:28C:00000/001\r\n:60F:C120131EUR1000,00\r\n";
        assert_eq!(name(mt940), Some("SWIFT MT940".into()));
        let block = "{1:F01ASNBNL21XXXX0000000000}{2:O940ASNBNL21XXXXN}{3:}{4:\r\n:20:0000000000\r\n:25:NL81ASNB9999999999\r\n:28C:1/1\r\n";
        assert_eq!(name(block), Some("SWIFT MT940".into()));
        let mt942 =
            ":20:131110\n:25:45050050/76198810\n:28:27/01\n:34F:EURD0,\n:13D:1311101200+0100\n";
        assert_eq!(name(mt942), Some("SWIFT MT942".into()));
        let titled = "ABNANL2A\n940\nABNANL2A\n:20:ABN AMRO BANK NV\n:25:517852257\n:28:19321/1\n";
        assert_eq!(name(titled), Some("SWIFT MT940".into()));
        let fragment = ":60F:C100318EUR380115,12\n:60F:C100318EUR0,12\n";
        assert_eq!(
            name(fragment),
            Some("SWIFT MT940".into()),
            "tags on every line"
        );
        // A CSV with a ":20:" somewhere is not a statement.
        assert_eq!(name("ma,ten\n:20:,x\n"), None);
        assert_eq!(
            name("ma,ten\n:20:x\n:25:y\n1,2\n3,4\n5,6\n7,8\n9,0\n"),
            Some("SWIFT MT940".into())
        );
        assert_eq!(name("population_id,full_name\n001,A\n"), None);
        // A payment order (MT103) is no statement.
        assert_eq!(
            name(":20:REF1\n:23B:CRED\n:32A:261005VND1500000,\n:59:/4200205123456\n"),
            None
        );
    }
}
