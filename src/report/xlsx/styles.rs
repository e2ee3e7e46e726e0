//! The cell formats of both workbooks: thin borders, a filled header row, bold totals.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, FormatUnderline};

const HEADER_FILL: u32 = 0xDDEBF7;
const TOTAL_FILL: u32 = 0xF2F2F2;

pub(super) struct Formats {
    pub(super) title: Format,
    pub(super) subtitle: Format,
    pub(super) section: Format,
    pub(super) label: Format,
    pub(super) header: Format,
    /// "@" so a user editing an ID cell does not turn it into a number.
    pub(super) text: Format,
    pub(super) wrap: Format,
    pub(super) count: Format,
    pub(super) row_no: Format,
    pub(super) money: Format,
    pub(super) pct: Format,
    pub(super) total_label: Format,
    pub(super) total_count: Format,
    pub(super) total_money: Format,
    pub(super) total_pct: Format,
    /// The office header: the agency block and the national motto, bold and centred; the
    /// motto's second line underlined, as typed in office documents.
    pub(super) agency: Format,
    pub(super) agency_sub: Format,
    pub(super) motto: Format,
    pub(super) motto_sub: Format,
    /// The document's title and the lines under it, centred.
    pub(super) doc_title: Format,
    pub(super) doc_line: Format,
    /// The place-and-date line and the signature block.
    pub(super) place_date: Format,
    pub(super) sign_role: Format,
    pub(super) sign_hint: Format,
    pub(super) sign_name: Format,
}

impl Formats {
    pub(super) fn new() -> Self {
        let cell = || {
            Format::new()
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::VerticalCenter)
        };
        let total = || {
            cell()
                .set_bold()
                .set_background_color(Color::RGB(TOTAL_FILL))
        };
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_italic(),
            section: Format::new().set_bold().set_font_size(12),
            label: cell(),
            header: cell()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(HEADER_FILL)),
            text: cell().set_num_format("@"),
            wrap: cell().set_text_wrap(),
            count: cell().set_num_format("#,##0"),
            row_no: cell().set_num_format("0"),
            money: cell().set_num_format("#,##0 \"₫\""),
            // Stored as a fraction (0.9731): Excel shows 97,31% in a Vietnamese locale.
            pct: cell().set_num_format("0.00%"),
            total_label: total(),
            total_count: total().set_num_format("#,##0"),
            total_money: total().set_num_format("#,##0 \"₫\""),
            total_pct: total().set_num_format("0.00%"),
            agency: Format::new().set_bold().set_align(FormatAlign::Center),
            agency_sub: Format::new().set_align(FormatAlign::Center),
            motto: Format::new().set_bold().set_align(FormatAlign::Center),
            motto_sub: Format::new()
                .set_bold()
                .set_underline(FormatUnderline::Single)
                .set_align(FormatAlign::Center),
            doc_title: Format::new()
                .set_bold()
                .set_font_size(14)
                .set_align(FormatAlign::Center),
            doc_line: Format::new().set_align(FormatAlign::Center),
            place_date: Format::new().set_italic().set_align(FormatAlign::Center),
            sign_role: Format::new().set_bold().set_align(FormatAlign::Center),
            sign_hint: Format::new().set_italic().set_align(FormatAlign::Center),
            sign_name: Format::new().set_bold().set_align(FormatAlign::Center),
        }
    }
}
