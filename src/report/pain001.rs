//! Payment orders as an ISO 20022 pain.001 credit transfer initiation (version 001.001.10,
//! or 001.001.09 for a bank that asks for it): one message for one bank, one payment
//! information block per list (a unit's), one transfer per order, in whole đồng. A message
//! without orders is not valid ISO 20022 (a block needs a transfer): callers refuse it.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset};
use quick_xml::escape::escape;
use rust_decimal::Decimal;

use crate::domain::banks::BankId;
use crate::domain::names;
use crate::domain::payment_orders::OrderLine;

/// The schema version of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pain001Version {
    V09,
    V10,
}

impl Pain001Version {
    pub fn parse(s: &str) -> Option<Self> {
        match s
            .trim()
            .trim_start_matches("pain.001.001.")
            .trim_start_matches('v')
        {
            "9" | "09" => Some(Self::V09),
            "10" => Some(Self::V10),
            _ => None,
        }
    }
    pub fn namespace(self) -> &'static str {
        match self {
            Self::V09 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
            Self::V10 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.10",
        }
    }
}

/// Who pays, from which account, when, and how names are written.
#[derive(Debug, Clone)]
pub struct OrderHeader {
    pub bank: BankId,
    pub debtor_name: String,
    pub debtor_account: String,
    /// The message's id; each block's is its orders' `payment_info`.
    pub message_id: String,
    pub created: DateTime<FixedOffset>,
    pub execution_date: chrono::NaiveDate,
    /// What the payment is, for the beneficiary's statement ("Tro cap thang 10/2026").
    pub remittance: String,
    /// Names and texts without diacritics, for banks whose systems take only ASCII.
    pub ascii: bool,
    pub version: Pain001Version,
}

/// The remittance text with the order's reference at its end, where a bank's statement
/// export shows it (its "Nội dung" column): a statement that carries no end-to-end field
/// still names the order. Cut to 140 characters, the reference kept whole.
pub fn remittance(text: &str, end_to_end: &str) -> String {
    let room = MAX_TEXT.saturating_sub(end_to_end.chars().count() + 1);
    let head: String = text.chars().take(room).collect();
    format!("{} {end_to_end}", head.trim_end())
}

/// Most ISO 20022 name and text fields (`Max140Text`).
const MAX_TEXT: usize = 140;

/// The message, as UTF-8 XML text. Orders are written in the order given.
pub fn write(header: &OrderHeader, orders: &[OrderLine]) -> String {
    let total: Decimal = orders.iter().map(|o| o.amount).sum();
    let count = orders.len();
    let text = |s: &str| -> String {
        let s = if header.ascii {
            names::ascii(s)
        } else {
            s.to_owned()
        };
        // XML 1.0 has no place for control characters: they go, as spaces.
        let s: String = s
            .chars()
            .map(|c| {
                if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let s: String = s.chars().take(MAX_TEXT).collect();
        escape(s.as_str()).into_owned()
    };
    let id = |s: &str| escape(s).into_owned();
    let bin = header.bank.bank().bin.clone();
    let agent = |out: &mut String| {
        let _ = write!(out, "<FinInstnId>");
        if let Some(bin) = &bin {
            let _ = write!(out, "<ClrSysMmbId><MmbId>{}</MmbId></ClrSysMmbId>", id(bin));
        }
        let _ = write!(
            out,
            "<Nm>{}</Nm></FinInstnId>",
            text(&header.bank.bank().name_vi)
        );
    };
    let mut out = String::with_capacity(600 + orders.len() * 700);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<Document xmlns=\"{}\">\n<CstmrCdtTrfInitn>",
        header.version.namespace()
    );
    let _ = writeln!(
        out,
        "<GrpHdr><MsgId>{}</MsgId><CreDtTm>{}</CreDtTm><NbOfTxs>{count}</NbOfTxs><CtrlSum>{}</CtrlSum><InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>",
        id(&header.message_id),
        header.created.format("%Y-%m-%dT%H:%M:%S%:z"),
        total.normalize(),
        text(&header.debtor_name),
    );
    // One payment information block per list (a unit's), in the order given.
    for block in orders.chunk_by(|a, b| a.payment_info == b.payment_info) {
        let block_total: Decimal = block.iter().map(|o| o.amount).sum();
        let _ = write!(
            out,
            "<PmtInf><PmtInfId>{}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>false</BtchBookg><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>",
            id(block.first().map_or("", |o| &o.payment_info)),
            block.len(),
            block_total.normalize(),
        );
        // Social security benefit: banks give such transfers their own handling.
        out.push_str("<PmtTpInf><CtgyPurp><Cd>SSBE</Cd></CtgyPurp></PmtTpInf>");
        let _ = write!(
            out,
            "<ReqdExctnDt><Dt>{}</Dt></ReqdExctnDt><Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><Othr><Id>{}</Id></Othr></Id><Ccy>VND</Ccy></DbtrAcct><DbtrAgt>",
            header.execution_date.format("%Y-%m-%d"),
            text(&header.debtor_name),
            id(&header.debtor_account),
        );
        agent(&mut out);
        out.push_str("</DbtrAgt><ChrgBr>DEBT</ChrgBr>\n");
        for o in block {
            let _ = write!(
                out,
                "<CdtTrfTxInf><PmtId><InstrId>{}</InstrId><EndToEndId>{}</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"VND\">{}</InstdAmt></Amt><CdtrAgt>",
                id(&o.end_to_end),
                id(&o.end_to_end),
                o.amount.normalize(),
            );
            agent(&mut out);
            let _ = writeln!(
                out,
                "</CdtrAgt><Cdtr><Nm>{}</Nm></Cdtr><CdtrAcct><Id><Othr><Id>{}</Id></Othr></Id></CdtrAcct><Purp><Cd>SSBE</Cd></Purp><RmtInf><Ustrd>{}</Ustrd></RmtInf></CdtTrfTxInf>",
                text(&o.name),
                id(&o.account),
                text(&remittance(&header.remittance, &o.end_to_end)),
            );
        }
        out.push_str("</PmtInf>\n");
    }
    out.push_str("</CstmrCdtTrfInitn>\n</Document>\n");
    out
}
