//! A bank's answers to doisoat's payment orders, written from the pain.001 file the CLI
//! made: a pain.002 status report, a camt.054 notification, an MT940 statement, and the
//! same outcomes as the spreadsheet a bank would send. Shared by the loop test
//! (`tests/it/bank_formats.rs`) and the bench (`benches/bank_formats.rs`), both of which
//! `#[path]`-include it.
#![allow(dead_code)] // Each user takes a different part.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One order as the pain.001 file states it.
#[derive(Debug, Clone)]
pub struct Order {
    pub end_to_end: String,
    pub row: u32,
    pub amount: String,
    pub account: String,
    pub name: String,
}

impl Order {
    fn dong(&self) -> u64 {
        self.amount
            .parse()
            .unwrap_or_else(|_| panic!("amount {}", self.amount))
    }
}

pub fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let from = s.find(open).map_or(0, |i| i + open.len());
    let to = s[from..].find(close).map_or(s.len(), |i| from + i);
    &s[from..to]
}

pub fn orders_in(xml: &str) -> Vec<Order> {
    xml.split("<CdtTrfTxInf>")
        .skip(1)
        .map(|tx| Order {
            end_to_end: between(tx, "<EndToEndId>", "</EndToEndId>").to_owned(),
            row: between(tx, "<EndToEndId>", "</EndToEndId>")
                .rsplit('-')
                .next()
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("no row in an EndToEndId")),
            amount: between(tx, "<InstdAmt Ccy=\"VND\">", "</InstdAmt>").to_owned(),
            account: between(between(tx, "<CdtrAcct>", "</CdtrAcct>"), "<Id>", "</Id>")
                .trim_start_matches("<Othr><Id>")
                .to_owned(),
            name: between(between(tx, "<Cdtr>", "</Cdtr>"), "<Nm>", "</Nm>").to_owned(),
        })
        .collect()
}

/// What the bank does with order `i` of its file: refuse it (AC01), book it and see it
/// returned (AC04), or book it.
#[derive(Clone, Copy, PartialEq)]
pub enum Fate {
    Refused,
    Returned,
    Paid,
}

pub fn fate(i: usize) -> Fate {
    match i {
        5 => Fate::Returned,
        i if i % 10 == 3 => Fate::Refused,
        _ => Fate::Paid,
    }
}

/// The bank's status report: the block technically accepted (ACSP: pending until booked),
/// the refused orders listed with AC01.
pub fn pain002(message: &str, orders: &[Order]) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.11\"><CstmrPmtStsRpt>\n",
    );
    let _ = write!(
        x,
        "<GrpHdr><MsgId>STS-{message}</MsgId><CreDtTm>2026-10-05T18:00:00+07:00</CreDtTm></GrpHdr>\
         <OrgnlGrpInfAndSts><OrgnlMsgId>{message}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.10</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>\n\
         <OrgnlPmtInfAndSts><OrgnlPmtInfId>{message}-1</OrgnlPmtInfId><PmtInfSts>ACSP</PmtInfSts>\n"
    );
    for (i, o) in orders.iter().enumerate() {
        if fate(i) == Fate::Refused {
            let _ = writeln!(
                x,
                "<TxInfAndSts><OrgnlInstrId>{}</OrgnlInstrId><OrgnlEndToEndId>{}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC01</Cd></Rsn><AddtlInf>Tài khoản không tồn tại</AddtlInf></StsRsnInf><OrgnlTxRef><Amt><InstdAmt Ccy=\"VND\">{}</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>",
                o.row, o.end_to_end, o.amount
            );
        }
    }
    x.push_str("</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>\n");
    x
}

fn booked(orders: &[Order]) -> Vec<&Order> {
    orders
        .iter()
        .enumerate()
        .filter(|(i, _)| fate(*i) != Fate::Refused)
        .map(|(_, o)| o)
        .collect()
}

/// The bank's notification: the orders it booked, in batch entries of 50 (each entry's
/// amount their total), then the return of one of them.
pub fn camt054(message: &str, orders: &[Order]) -> String {
    let code = "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>";
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"><BkToCstmrDbtCdtNtfctn>\n",
    );
    let _ = writeln!(
        x,
        "<GrpHdr><MsgId>NTF-{message}</MsgId><CreDtTm>2026-10-06T17:00:00+07:00</CreDtTm></GrpHdr>\
         <Ntfctn><Id>NTF-{message}-1</Id><Acct><Id><Othr><Id>1234567890</Id></Othr></Id><Ccy>VND</Ccy></Acct>"
    );
    for (n, batch) in booked(orders).chunks(50).enumerate() {
        let total: u64 = batch.iter().map(|o| o.dong()).sum();
        let _ = writeln!(
            x,
            "<Ntry><Amt Ccy=\"VND\">{total}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-10-05</Dt></BookgDt><ValDt><Dt>2026-10-05</Dt></ValDt><AcctSvcrRef>FT{n:06}</AcctSvcrRef>{code}<NtryDtls><Btch><NbOfTxs>{}</NbOfTxs><TtlAmt Ccy=\"VND\">{total}</TtlAmt><CdtDbtInd>DBIT</CdtDbtInd></Btch>",
            batch.len()
        );
        for o in batch {
            let _ = writeln!(
                x,
                "<TxDtls><Refs><EndToEndId>{}</EndToEndId></Refs><Amt Ccy=\"VND\">{}</Amt><CdtDbtInd>DBIT</CdtDbtInd><RltdPties><Cdtr><Pty><Nm>{}</Nm></Pty></Cdtr><CdtrAcct><Id><Othr><Id>{}</Id></Othr></Id></CdtrAcct></RltdPties></TxDtls>",
                o.end_to_end, o.amount, o.name, o.account
            );
        }
        x.push_str("</NtryDtls></Ntry>\n");
    }
    if let Some(o) = orders.get(5).filter(|_| fate(5) == Fate::Returned) {
        let _ = writeln!(
            x,
            "<Ntry><Amt Ccy=\"VND\">{}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><ValDt><Dt>2026-10-06</Dt></ValDt><AcctSvcrRef>RT000001</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>{}</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>{}</Nm></Pty></Dbtr><DbtrAcct><Id><Othr><Id>{}</Id></Othr></Id></DbtrAcct></RltdPties><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>",
            o.amount, o.end_to_end, o.name, o.account
        );
    }
    x.push_str("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n");
    x
}

/// The same bookings as an MT940 statement: one `:61:` per booked order (the reference in
/// `:86:` as `/EREF/`, as most banks write it), the return as `RD`, balances that add up.
pub fn mt940(orders: &[Order]) -> String {
    let opening: u64 = 1_000_000_000_000;
    let mut balance = opening;
    let mut x = String::from(
        "{1:F01VBAAVNVXAXXX0000000000}{2:O940VBAAVNVXXXXXN}{4:\r\n:20:VBA20261005\r\n:25:1234567890\r\n:28C:278/1\r\n",
    );
    let _ = write!(x, ":60F:C261004VND{opening},\r\n");
    for (n, o) in booked(orders).into_iter().enumerate() {
        balance -= o.dong();
        let _ = write!(
            x,
            ":61:2610051005D{},NTRFNONREF//FT{n:011}\r\n:86:/EREF/{}//NAME/{}/IBAN/{}/\r\n",
            o.amount,
            o.end_to_end,
            o.name.replace('/', " "),
            o.account
        );
    }
    if let Some(o) = orders.get(5).filter(|_| fate(5) == Fate::Returned) {
        balance += o.dong();
        let _ = write!(
            x,
            ":61:2610061006RD{},NRTINONREF//RT00000000001\r\n:86:/EREF/{}//RTRN/AC04/\r\n",
            o.amount, o.end_to_end
        );
    }
    let _ = write!(x, ":62F:C261006VND{balance},\r\n-}}\r\n");
    x
}

/// A list's personal IDs by spreadsheet row (a legacy CMND as listed), as `payment-orders`
/// read them: the ID column of the spreadsheet answer.
pub fn ids_by_row(rows: &[doisoat::domain::records::BeneficiaryRow]) -> BTreeMap<u32, String> {
    use doisoat::domain::population_id::IdCheck;
    rows.iter()
        .filter_map(|r| match &r.id {
            IdCheck::Valid(id) => Some((r.source.row, id.to_string())),
            IdCheck::Legacy(s) => Some((r.source.row, s.clone())),
            _ => None,
        })
        .collect()
}

/// The same outcomes as the spreadsheet a bank would send: ID (as the list has it, when it
/// is one), account, name, amount, status, reason.
pub fn spreadsheet(orders: &[Order], ids: &BTreeMap<u32, String>) -> String {
    let mut x = String::from("Số định danh,Số tài khoản,Họ và tên,Số tiền,Trạng thái,Lý do\n");
    for (i, o) in orders.iter().enumerate() {
        let (status, reason) = match fate(i) {
            Fate::Refused => ("Không thành công", "AC01"),
            Fate::Returned => ("Hoàn trả", "AC04"),
            Fate::Paid => ("Thành công", ""),
        };
        let id = ids.get(&o.row).cloned().unwrap_or_default();
        let _ = writeln!(
            x,
            "{id},{},\"{}\",{},{status},{reason}",
            o.account, o.name, o.amount
        );
    }
    x
}
