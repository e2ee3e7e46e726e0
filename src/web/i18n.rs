//! Page texts in Vietnamese (default) and English. One table, so a missing translation
//! is a test failure rather than a blank on screen.

use crate::domain::Lang;

/// (key, Vietnamese, English).
const TEXTS: &[(&str, &str, &str)] = &[
    (
        "app.title",
        "Đối soát chi trả an sinh xã hội",
        "Welfare payment reconciliation",
    ),
    (
        "app.skip",
        "Bỏ qua, tới nội dung chính",
        "Skip to main content",
    ),
    ("nav.periods", "Kỳ chi trả", "Payment periods"),
    ("nav.audit", "Nhật ký kiểm toán", "Audit log"),
    ("nav.signed_in_as", "Đăng nhập:", "Signed in:"),
    ("nav.sign_out", "Đăng xuất", "Sign out"),
    ("role.admin", "quản trị", "administrator"),
    ("role.accountant", "kế toán", "accountant"),
    (
        "role.approver",
        "phê duyệt (kế toán trưởng)",
        "approver (chief accountant)",
    ),
    ("role.auditor", "kiểm toán (chỉ xem)", "auditor (read-only)"),
    ("role.bank", "ngân hàng", "bank"),
    ("login.title", "Đăng nhập", "Sign in"),
    (
        "login.token",
        "Mã truy cập (API token)",
        "Access token (API token)",
    ),
    (
        "login.token_help",
        "Mã do quản trị viên cấp, bắt đầu bằng ds_",
        "Given by your administrator; starts with ds_",
    ),
    ("login.submit", "Đăng nhập", "Sign in"),
    (
        "login.bad_token",
        "Mã truy cập không đúng hoặc đã bị thu hồi.",
        "The access token is wrong or has been revoked.",
    ),
    (
        "login.bank_role",
        "Tài khoản ngân hàng chỉ dùng API, không dùng trang web.",
        "Bank tokens are for the API, not the web pages.",
    ),
    (
        "login.expired",
        "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.",
        "Your session has ended; please sign in again.",
    ),
    ("periods.title", "Kỳ chi trả", "Payment periods"),
    (
        "periods.none",
        "Chưa có kỳ chi trả nào.",
        "No payment periods yet.",
    ),
    ("periods.code", "Mã kỳ", "Code"),
    (
        "periods.code_help",
        "Ví dụ 2024-09, 2024-Q3, Quý 3/2024",
        "For example 2024-09, 2024-Q3",
    ),
    ("periods.programme", "Chế độ / chương trình", "Programme"),
    ("periods.locality", "Địa bàn (xã, huyện…)", "Locality"),
    (
        "periods.target",
        "Chỉ tiêu chung cho cả hai tỷ lệ (%)",
        "Target for both rates (%)",
    ),
    ("periods.targets", "Chỉ tiêu", "Targets"),
    (
        "periods.account_target",
        "Tỷ lệ đối tượng có tài khoản (%)",
        "Beneficiaries with an account (%)",
    ),
    (
        "periods.cashless_target",
        "Tỷ lệ chi không dùng tiền mặt (%)",
        "Paid without cash (%)",
    ),
    (
        "periods.target_help",
        "Ví dụ 30 hoặc 97,5. Ô cuối cùng (chung) áp dụng cho tỷ lệ nào chưa có chỉ tiêu riêng.",
        "For example 30 or 97.5. The last box (both) applies to a rate without its own target.",
    ),
    ("periods.created", "Ngày tạo", "Created"),
    ("periods.create", "Tạo kỳ chi trả", "Create period"),
    ("periods.new", "Kỳ chi trả mới", "New payment period"),
    ("period.title", "Kỳ", "Period"),
    ("period.figures", "Số liệu hiện tại", "Current figures"),
    (
        "period.figures_help",
        "Tính từ danh sách hiện hành, các tệp kết quả và kết quả ngân hàng gửi trực tiếp; tải lại trang để cập nhật.",
        "From the current list, the result files and the banks' callbacks; reload to update.",
    ),
    (
        "period.no_list",
        "Kỳ này chưa có danh sách đối tượng: tải danh sách lên để xem số liệu.",
        "This period has no beneficiary list yet: upload one to see figures.",
    ),
    ("period.uploads", "Tệp đã tải lên", "Uploaded files"),
    ("period.no_uploads", "Chưa có tệp nào.", "No files yet."),
    (
        "period.upload_list",
        "Tải danh sách đối tượng",
        "Upload the beneficiary list",
    ),
    (
        "period.upload_list_help",
        "Một tệp xlsx, xls, ods hoặc csv mỗi lần; tệp mới thay danh sách hiện hành.",
        "One xlsx, xls, ods or csv file at a time; a new list replaces the current one.",
    ),
    (
        "period.one_list",
        "Mỗi lần chỉ tải lên một danh sách: danh sách mới thay danh sách hiện hành, nên nhiều tệp cùng lúc sẽ chỉ giữ tệp cuối. Chưa lưu tệp nào; hãy chọn một tệp.",
        "Upload one list at a time: a new list replaces the current one, so several files at once would keep only the last. Nothing was stored; choose one file.",
    ),
    (
        "period.upload_payouts",
        "Tải tệp kết quả chi của ngân hàng",
        "Upload bank result files",
    ),
    (
        "period.upload_payouts_help",
        "Có thể chọn nhiều tệp cùng lúc: bảng tính, sao kê, hoặc tệp của ngân hàng (pain.002, camt.053/054, MT940).",
        "You may choose several files at once: spreadsheets, statements, or the bank's own files (pain.002, camt.053/054, MT940).",
    ),
    (
        "period.bank",
        "Ngân hàng (khi tệp không có cột ngân hàng)",
        "Bank (when the file has no bank column)",
    ),
    ("period.files", "Tệp", "Files"),
    ("period.upload", "Tải lên", "Upload"),
    ("period.uploading", "Đang tải lên…", "Uploading…"),
    ("period.run", "Chạy đối soát", "Run reconciliation"),
    (
        "period.run_help",
        "Lưu một lần đối soát không thay đổi được, có mã băm của từng tệp và của báo cáo.",
        "Stores an immutable run with the digest of every input and of the report.",
    ),
    ("period.runs", "Các lần đối soát", "Reconciliation runs"),
    (
        "orders.title",
        "Lệnh chi cho ngân hàng",
        "Payment orders for a bank",
    ),
    (
        "orders.help",
        "Lệnh chi (pain.001) hoặc bảng kê chi trả (xlsx) cho người hưởng có tài khoản tại ngân hàng này, từ danh sách hiện hành. Mỗi lệnh có mã tham chiếu DS-…: tệp trả lời của ngân hàng (pain.002, camt.054, MT940, sao kê) tải lên ở trên được ghép lại theo mã đó.",
        "Payment orders (pain.001) or the payment list (xlsx) for the beneficiaries with an account at this bank, from the current lists. Each order has a DS-… reference: the bank's answers (pain.002, camt.054, MT940, statements) uploaded above link back through it.",
    ),
    ("orders.bank", "Ngân hàng", "Bank"),
    (
        "orders.debtor_account",
        "Tài khoản chi của đơn vị",
        "Paying account",
    ),
    (
        "orders.debtor_name",
        "Tên đơn vị chi trả",
        "Paying office's name",
    ),
    ("orders.format", "Định dạng", "Format"),
    (
        "orders.format_v10",
        "pain.001 (ISO 20022, phiên bản 10)",
        "pain.001 (ISO 20022, version 10)",
    ),
    (
        "orders.format_v09",
        "pain.001 phiên bản 09",
        "pain.001 version 09",
    ),
    (
        "orders.format_xlsx",
        "Bảng kê chi trả (xlsx)",
        "Payment list (xlsx)",
    ),
    ("orders.execution_date", "Ngày thực hiện", "Execution date"),
    (
        "orders.ascii",
        "Tên không dấu (ngân hàng cần ASCII)",
        "Names without diacritics (bank needs ASCII)",
    ),
    (
        "orders.resend",
        "Lập lại lệnh đã gửi (ngân hàng báo không nhận được tệp)",
        "Re-issue orders already sent (the bank did not receive the file)",
    ),
    ("orders.submit", "Lập lệnh chi", "Create payment orders"),
    (
        "orders.failed",
        "Không lập được lệnh chi",
        "Payment orders could not be created",
    ),
    (
        "period.no_runs",
        "Chưa chạy đối soát lần nào.",
        "No runs yet.",
    ),
    ("period.chart", "Tỷ lệ theo xã", "Rates by commune"),
    (
        "arrears.title",
        "Truy lĩnh chuyển sang",
        "Arrears carried over",
    ),
    (
        "arrears.help",
        "Người chưa nhận, chi lỗi, bị trả lại hoặc nhận thiếu trong kết quả đã duyệt của kỳ trước được chuyển sang kỳ này để chi truy lĩnh. Mỗi khoản chi tính cho tháng này trước, phần vượt tính vào truy lĩnh; số liệu của tháng chỉ gồm phần của tháng.",
        "People unpaid, failed, returned or underpaid in an earlier period's approved run are carried into this one to be paid their arrears. A payment goes to this month first, the rest to the arrears; the month's figures count only the month's part.",
    ),
    ("arrears.people", "Số người", "People"),
    ("arrears.due", "Phải chi truy lĩnh", "Arrears due"),
    ("arrears.paid", "Đã chi truy lĩnh", "Arrears paid"),
    ("arrears.outstanding", "Còn nợ", "Outstanding"),
    ("arrears.carried", "Các lần chuyển", "Carry-overs"),
    ("arrears.by", "Người chuyển", "Carried by"),
    (
        "arrears.people_title",
        "Người được truy lĩnh",
        "People owed arrears",
    ),
    ("arrears.from", "Từ kỳ", "From"),
    ("arrears.run", "Lượt đối soát", "Run"),
    ("arrears.skipped", "Không chuyển được", "Not carried"),
    ("arrears.state", "Tình trạng", "State"),
    ("arrears.settled", "Đã nhận đủ", "Paid in full"),
    ("arrears.owed", "Còn nợ", "Still owed"),
    (
        "arrears.not_listed",
        "Không có trong danh sách kỳ này",
        "Not on this period's lists",
    ),
    (
        "arrears.more",
        "Còn nữa: xem toàn bộ qua API",
        "More: all of them through the API",
    ),
    (
        "arrears.none",
        "Chưa chuyển truy lĩnh nào sang kỳ này.",
        "No arrears carried into this period yet.",
    ),
    (
        "arrears.choose",
        "Chuyển truy lĩnh từ kết quả đã duyệt",
        "Carry over from an approved run",
    ),
    (
        "arrears.carry",
        "Chuyển sang kỳ này",
        "Carry into this period",
    ),
    (
        "arrears.done",
        "Đã chuyển truy lĩnh sang kỳ này.",
        "Arrears carried into this period.",
    ),
    (
        "cmp.title",
        "So với kỳ trước",
        "Compared with the previous period",
    ),
    ("cmp.previous", "Kỳ trước:", "Previous period:"),
    (
        "cmp.help",
        "Danh sách hiện hành của đơn vị đang xem ở hai kỳ, so theo số định danh: người mới có tên, không còn tên, thay đổi số tiền được hưởng, thay đổi tài khoản hoặc ngân hàng.",
        "The current lists of the unit shown in both periods, by personal ID: people added, removed, due another amount, listed with another account or bank.",
    ),
    (
        "cmp.none",
        "Chế độ này chưa có kỳ trước cùng loại (tháng so với tháng, quý so với quý): chưa có gì để so sánh.",
        "The programme has no earlier period of this kind (months with months, quarters with quarters): nothing to compare with yet.",
    ),
    ("cmp.change", "Thay đổi", "Change"),
    ("cmp.people", "Số người", "People"),
    ("cmp.id", "Số định danh", "Personal ID"),
    ("cmp.name", "Họ tên", "Name"),
    ("cmp.place", "Xã/phường", "Commune"),
    ("cmp.before", "Kỳ trước", "Before"),
    ("cmp.after", "Kỳ này", "Now"),
    (
        "cmp.download",
        "Tải toàn bộ danh sách thay đổi (CSV)",
        "Download every change (CSV)",
    ),
    (
        "cmp.more",
        "Chỉ hiện những người đầu tiên;",
        "Only the first people are shown;",
    ),
    (
        "cmp.download_one",
        "tải về để xem hết.",
        "download them all.",
    ),
    ("period.uploaded_ok", "Đã lưu", "Stored"),
    ("done.uploaded", "Đã tải lên", "Uploaded"),
    (
        "period.callbacks",
        "Kết quả ngân hàng gửi trực tiếp (callback)",
        "Results banks sent directly (callbacks)",
    ),
    (
        "period.callbacks_none",
        "Chưa có ngân hàng nào gửi kết quả trực tiếp cho kỳ này.",
        "No bank has sent results directly for this period yet.",
    ),
    (
        "period.callbacks_scope",
        "Đếm các kết quả ngân hàng ghi đơn vị thuộc đơn vị đang xem; kết quả không ghi đơn vị được tính cho người hưởng khi đối soát và chỉ đếm ở đây trên trang cấp quốc gia.",
        "Counts the results whose unit, as the bank wrote it, lies within the unit shown; results naming no unit count for their beneficiary in the figures, and are counted here on the nation's page only.",
    ),
    ("period.cb_payouts", "Số khoản chi", "Payouts"),
    ("period.cb_success", "Thành công", "Succeeded"),
    ("period.cb_failed", "Không thành công", "Failed"),
    ("period.cb_returned", "Bị hoàn trả", "Returned"),
    ("period.cb_last", "Nhận lần cuối", "Last received"),
    ("done.valid_rows", "dòng hợp lệ", "valid rows"),
    ("done.error_rows", "dòng lỗi", "rows with errors"),
    (
        "done.current",
        "Đã đặt làm danh sách hiện hành",
        "Made the current list",
    ),
    (
        "done.current_tail",
        "— số liệu hiện tại tính theo danh sách này",
        "— the current figures follow this list",
    ),
    ("done.retired", "Đã loại bỏ", "Retired"),
    (
        "done.retired_tail",
        "các dòng của tệp không còn được tính",
        "its rows no longer count",
    ),
    ("approval.title", "Trình duyệt và phê duyệt", "Approval"),
    ("period.closed", "Kỳ đã khóa", "Period closed"),
    (
        "approval.help",
        "Kế toán trình kết quả đối soát; người phê duyệt (kế toán trưởng, lãnh đạo đơn vị) — không phải người đã trình — phê duyệt hoặc trả lại kèm lý do. Phê duyệt là khóa kỳ cho đơn vị và các đơn vị trực thuộc: không nhận thêm danh sách hay tệp kết quả chi; kết quả ngân hàng gửi sau vẫn được lưu và tính riêng.",
        "An accountant submits the run; an approver (chief accountant, head of unit) — not the one who submitted it — approves it or returns it with a reason. Approving closes the period for the unit and the units below it: no new lists or bank files; results banks send afterwards are still stored, and counted apart.",
    ),
    ("approval.state", "Trạng thái", "State"),
    ("approval.steps", "Các bước", "Steps"),
    ("approval.step", "Bước", "Step"),
    ("approval.by", "Người thực hiện", "By"),
    ("approval.at", "Thời điểm", "When"),
    ("approval.reason", "Lý do, ghi chú", "Reason, note"),
    (
        "approval.no_steps",
        "Chưa trình duyệt.",
        "Not submitted yet.",
    ),
    ("approval.submit", "Trình duyệt", "Submit for approval"),
    (
        "approval.approve",
        "Phê duyệt và khóa kỳ",
        "Approve and close the period",
    ),
    ("approval.return", "Trả lại", "Return"),
    ("approval.reopen", "Mở lại kỳ", "Reopen the period"),
    (
        "approval.reason_required",
        "Lý do (bắt buộc)",
        "Reason (required)",
    ),
    (
        "approval.note_optional",
        "Ghi chú (không bắt buộc)",
        "Note (optional)",
    ),
    (
        "approval.closed",
        "Kỳ đã khóa cho {unit} và các đơn vị trực thuộc từ {at}: không nhận thêm danh sách, tệp kết quả chi. Báo cáo tải về là bản chính thức để ký, có tên người lập và người duyệt.",
        "The period is closed for {unit} and the units below it since {at}: no new lists or bank files. The downloaded report is the official one to sign, naming who prepared and who approved it.",
    ),
    (
        "approval.post_close",
        "Sau khi khóa kỳ, ngân hàng gửi thêm {count} kết quả chi (chênh lệch {amount}); không tính vào số liệu đã duyệt.",
        "Since the period closed, banks sent {count} more results (net {amount}); not in the approved figures.",
    ),
    (
        "approval.post_close_none",
        "Từ khi khóa kỳ, ngân hàng chưa gửi thêm kết quả chi nào.",
        "No bank has sent a result since the period closed.",
    ),
    (
        "approval.self",
        "Bạn đã trình kết quả này: cần một người phê duyệt khác.",
        "You submitted this run: another approver decides it.",
    ),
    ("done.submit", "Đã trình duyệt", "Submitted for approval"),
    (
        "done.approve",
        "Đã phê duyệt; kỳ đã khóa cho đơn vị",
        "Approved; the period is closed for the unit",
    ),
    ("done.return", "Đã trả lại kết quả đối soát", "Returned"),
    ("done.reopen", "Đã mở lại kỳ", "The period is reopened"),
    (
        "done.run",
        "Đã chạy đối soát và lưu số liệu; số liệu của lần này cố định, không đổi khi có tệp mới",
        "Reconciled and stored; this run's figures are fixed and do not change with new files",
    ),
    ("upload.current", "Danh sách hiện hành", "Current list"),
    (
        "period.confirm",
        "Tôi xác nhận đây là danh sách của kỳ này, dù tiêu đề ghi kỳ hoặc địa bàn khác",
        "I confirm this is this period's list, although its title names another period or place",
    ),
    (
        "period.confirm_help",
        "Chưa lưu. Nếu đúng là danh sách của kỳ này, hãy đánh dấu ô xác nhận và chọn lại tệp.",
        "Not stored. If it really is this period's list, tick the confirmation box and choose the file again.",
    ),
    (
        "layout.timezone",
        "Mọi thời điểm theo giờ Việt Nam (UTC+7).",
        "All times are Vietnam time (UTC+7).",
    ),
    ("upload.make_current", "Dùng bản này", "Make current"),
    ("upload.retire", "Loại bỏ", "Retire"),
    (
        "upload.retired",
        "Đã loại bỏ, không tính",
        "Retired, not counted",
    ),
    (
        "upload.errors_more",
        "Trang chỉ liệt kê 200 lỗi đầu; số lỗi còn lại:",
        "Only the first 200 errors are listed here; errors not shown:",
    ),
    (
        "period.upload_same",
        "Tệp này đã được tải lên trước đây (giữ bản cũ)",
        "This file was already uploaded (kept as is)",
    ),
    (
        "period.upload_failed",
        "Không đọc được tệp",
        "Could not read the file",
    ),
    ("period.no_files", "Chưa chọn tệp nào.", "No file chosen."),
    ("upload.kind", "Loại", "Kind"),
    ("upload.kind.beneficiaries", "Danh sách", "List"),
    ("upload.kind.payouts", "Kết quả chi", "Bank results"),
    ("upload.file", "Tệp", "File"),
    ("upload.version", "lần", "version"),
    ("upload.accepted", "Dòng hợp lệ", "Rows accepted"),
    ("upload.rejected", "Dòng lỗi", "Rows rejected"),
    ("upload.by", "Người tải", "Uploaded by"),
    ("upload.at", "Thời gian", "When"),
    (
        "upload.errors",
        "Các dòng lỗi và cách sửa",
        "Rejected rows and what to fix",
    ),
    ("upload.row", "dòng", "row"),
    ("upload.column", "cột", "column"),
    ("upload.value", "giá trị", "value"),
    ("upload.control_total", "Dòng tổng cộng", "Totals row"),
    (
        "upload.control_mismatch",
        "không khớp với tổng các dòng",
        "does not match the sum of rows",
    ),
    ("fig.beneficiaries", "Đối tượng", "Beneficiaries"),
    ("units.title", "Theo đơn vị", "By unit"),
    (
        "units.help",
        "Mỗi đơn vị là tổng của các xã, phường trực thuộc; tỷ lệ tính lại từ tổng, không lấy bình quân. Bấm tên đơn vị để xem chi tiết, bấm tiêu đề cột để sắp xếp.",
        "Each unit is the sum of its communes and wards; rates are worked out again from the sums, never averaged. Click a unit for its figures, a column header to sort.",
    ),
    ("units.unit", "Đơn vị", "Unit"),
    ("units.itself", "tại chính đơn vị", "at the unit itself"),
    ("units.chart", "Tỷ lệ theo đơn vị", "Rates by unit"),
    (
        "units.unmatched",
        "Chi ngoài danh sách",
        "Paid to nobody listed",
    ),
    ("units.of", "Đơn vị đang xem", "Unit shown"),
    ("upload.unit", "Đơn vị", "Unit"),
    (
        "upload.unit_help",
        "Danh sách thuộc về đơn vị này; các dòng được tính vào xã, phường ghi trong cột xã. Để chọn xã, phường, hãy mở đơn vị cấp trên ở mục Theo đơn vị.",
        "The list belongs to this unit; its rows count in the commune their commune column names. To pick a commune, open its province under By unit.",
    ),
    ("run.unit", "Đơn vị", "Unit"),
    ("fig.with_account", "Có tài khoản", "With an account"),
    (
        "fig.cashless",
        "Chi trả không dùng tiền mặt",
        "Paid cashless",
    ),
    ("fig.amount_due", "Tổng số phải chi", "Total due"),
    ("fig.amount_paid", "Số tiền đã chi", "Amount paid"),
    (
        "fig.amount_due_cashless",
        "Phải chi qua tài khoản",
        "Due to account holders",
    ),
    (
        "fig.amount_due_cash",
        "Phải chi bằng tiền mặt (bưu điện)",
        "Due in cash (post office)",
    ),
    (
        "fig.people_with_account",
        "người có tài khoản",
        "people with an account",
    ),
    (
        "fig.of_all_beneficiaries",
        "tổng số đối tượng",
        "of all beneficiaries",
    ),
    ("fig.target", "Chỉ tiêu", "Target"),
    ("fig.target_account_short", "Mở TK", "Accounts"),
    ("fig.target_cashless_short", "Chi qua TK", "Cashless"),
    ("fig.meets", "đạt", "met"),
    ("fig.misses", "chưa đạt", "not met"),
    ("fig.people", "người", "people"),
    ("fig.outcomes", "Kết quả theo đối tượng", "Outcomes"),
    (
        "fig.unmatched",
        "Khoản chi không có trong danh sách",
        "Payouts matching nobody on the list",
    ),
    ("run.title", "Lần đối soát", "Reconciliation run"),
    ("run.when", "Thời gian", "When"),
    ("run.by", "Người chạy", "Run by"),
    (
        "run.digest",
        "Mã băm báo cáo (SHA-256)",
        "Report digest (SHA-256)",
    ),
    ("run.inputs", "Tệp đầu vào", "Inputs"),
    ("run.downloads", "Tải về", "Downloads"),
    (
        "run.file_digests",
        "Mã SHA-256 của tệp tải về: cùng một lần đối soát luôn tải về đúng các byte này, để đối chiếu bản đã lưu",
        "SHA-256 of the downloads: the same run always downloads as these exact bytes, so a filed copy can be checked",
    ),
    ("run.bytes", "Số byte", "Bytes"),
    ("todo.title", "Danh sách cần xử lý", "Lists to work"),
    (
        "compare.title",
        "So sánh hai lần đối soát",
        "Two runs compared",
    ),
    (
        "compare.help",
        "Từng số liệu của hai lần đối soát cùng kỳ và mức thay đổi (lần sau trừ lần trước); bảng dưới cho biết tệp nào đã thêm, bỏ hoặc giữ nguyên, tức là nguyên nhân thay đổi.",
        "Each figure of two runs of the period and its change (the later minus the earlier); below, the files added, dropped or kept: why the figures changed.",
    ),
    (
        "compare.pick",
        "Chọn lần đối soát để so sánh",
        "Pick a run to compare with",
    ),
    (
        "compare.other_period",
        "Chỉ so sánh hai lần đối soát của cùng kỳ và cùng đơn vị",
        "Only runs of the same period and unit compare",
    ),
    ("compare.with", "So sánh với lần", "Compare with run"),
    ("compare.go", "So sánh", "Compare"),
    ("compare.figure", "Số liệu", "Figure"),
    ("compare.change", "Thay đổi", "Change"),
    ("compare.points", "điểm", "points"),
    ("compare.inputs", "Tệp đầu vào", "Inputs"),
    ("compare.input_state", "Thay đổi", "Change"),
    ("compare.input_kept", "Giữ nguyên", "Kept"),
    (
        "compare.input_added",
        "Thêm ở lần sau",
        "Added in the later run",
    ),
    (
        "compare.input_dropped",
        "Bỏ ở lần sau",
        "Dropped in the later run",
    ),
    (
        "compare.beneficiaries",
        "Tổng số đối tượng",
        "Beneficiaries",
    ),
    ("compare.with_account", "Có tài khoản", "With an account"),
    (
        "compare.account_coverage_pct",
        "Tỷ lệ có tài khoản",
        "Account coverage",
    ),
    (
        "compare.paid_cashless",
        "Đã chi không dùng tiền mặt",
        "Paid cashless",
    ),
    (
        "compare.cashless_rate_pct",
        "Tỷ lệ chi không dùng tiền mặt",
        "Cashless rate",
    ),
    ("compare.amount_due", "Tổng số phải chi", "Total due"),
    (
        "compare.amount_due_cashless",
        "Phải chi qua tài khoản",
        "Due to account holders",
    ),
    (
        "compare.amount_due_cash",
        "Phải chi bằng tiền mặt",
        "Due in cash",
    ),
    (
        "compare.amount_paid",
        "Đã chi qua tài khoản",
        "Paid to accounts",
    ),
    (
        "compare.unmatched_payouts.count",
        "Khoản chi không có trong danh sách",
        "Payouts to nobody listed",
    ),
    (
        "compare.unmatched_payouts.amount",
        "Số tiền chi không có trong danh sách",
        "Amount paid to nobody listed",
    ),
    (
        "todo.help",
        "Mỗi ô là số người (hoặc khoản chi) và tải về danh sách tương ứng (xlsx), theo xã và cho cả đơn vị.",
        "Each cell counts people (or payouts) and downloads that list (xlsx), by commune and for the whole unit.",
    ),
    (
        "todo.topups",
        "Chi bổ sung (chi thiếu)",
        "Top-ups (underpaid)",
    ),
    (
        "todo.recover",
        "Thu hồi (chi thừa, chi trùng)",
        "To recover (over- and double-paid)",
    ),
    (
        "todo.repay",
        "Chi lại (không thành công, hoàn trả, chưa chi)",
        "Pay again (failed, returned, unpaid)",
    ),
    (
        "todo.accounts",
        "Mở tài khoản (đang nhận tiền mặt)",
        "Open accounts (paid in cash)",
    ),
    (
        "todo.unmatched",
        "Khoản chi không có trong danh sách",
        "Payouts to nobody listed",
    ),
    ("todo.all", "Cả đơn vị", "Whole unit"),
    (
        "run.csv_help",
        "Mở bằng Excel: nên dùng tệp xlsx (số định danh, số tài khoản giữ nguyên). CSV dùng cho phần mềm khác; nếu cần mở CSV bằng Excel, tải bản giữ số định danh dạng chữ:",
        "To open in Excel, use the xlsx (IDs and account numbers kept as they are). The CSV is for other software; to open a CSV in Excel, take the variant that keeps IDs as text:",
    ),
    ("run.csv_excel", "CSV cho Excel", "CSV for Excel"),
    (
        "run.csv_semicolon",
        "CSV cho Excel, phân cách bằng dấu ;",
        "CSV for Excel, separated by ;",
    ),
    (
        "run.digest_after_download",
        "có sau lần tải về đầu tiên",
        "shown after the first download",
    ),
    (
        "run.figures",
        "Số liệu đã lưu của lần đối soát",
        "Figures stored with this run",
    ),
    (
        "run.figures_help",
        "Số liệu cố định tại thời điểm chạy đối soát, không thay đổi khi có tệp hoặc kết quả mới:",
        "Fixed when the run was made; new files or callbacks do not change them:",
    ),
    ("run.xlsx", "Báo cáo (xlsx)", "Report (xlsx)"),
    ("run.csv", "Ngoại lệ (csv)", "Exceptions (csv)"),
    ("run.json", "Báo cáo (json)", "Report (json)"),
    (
        "run.followup",
        "Danh sách cần chi lại (xlsx)",
        "Follow-up list (xlsx)",
    ),
    ("run.view", "Xem", "View"),
    (
        "run.immutable",
        "Số liệu của lần đối soát đã lưu, không đổi khi có dữ liệu mới.",
        "Figures as stored; new data does not change them.",
    ),
    ("exc.title", "Ngoại lệ", "Exceptions"),
    ("exc.outcome", "Kết quả", "Outcome"),
    ("exc.flag", "Dấu hiệu", "Flag"),
    ("exc.commune", "Xã", "Commune"),
    ("exc.bank", "Ngân hàng", "Bank"),
    (
        "exc.search",
        "Tìm theo số định danh hoặc họ tên",
        "Search by personal ID or name",
    ),
    ("exc.all", "Tất cả", "All"),
    ("exc.filter", "Lọc", "Filter"),
    ("exc.clear", "Bỏ lọc", "Clear"),
    (
        "exc.none",
        "Không có ngoại lệ nào khớp bộ lọc.",
        "No exception matches the filters.",
    ),
    ("exc.id", "Số định danh", "Personal ID"),
    ("exc.name", "Họ tên", "Name"),
    ("exc.account", "Tài khoản", "Account"),
    ("exc.due", "Phải chi", "Due"),
    ("exc.paid", "Đã chi", "Paid"),
    ("exc.rows", "Dòng trong danh sách", "List rows"),
    ("res.head", "Xử lý", "Resolution"),
    ("res.act", "Xử lý ngoại lệ", "Resolve"),
    ("res.action", "Thao tác", "Action"),
    ("res.state", "Trạng thái", "State"),
    (
        "res.state_default",
        "(mặc định theo thao tác)",
        "(the action's default)",
    ),
    ("res.note", "Ghi chú / lý do", "Note / reason"),
    (
        "res.beneficiary",
        "Người hưởng (khi ghép: b:<số định danh>)",
        "Beneficiary (to link: b:<ID>)",
    ),
    ("res.save", "Ghi lại", "Save"),
    (
        "res.saved",
        "Đã ghi lại việc xử lý ngoại lệ. Số liệu trực tiếp và lần đối soát sau sẽ tính thay đổi (nếu có); lần đối soát này không đổi.",
        "Recorded. The live figures and the next run count any change; this run stays as it is.",
    ),
    ("exc.difference", "Chênh lệch", "Difference"),
    ("exc.short", "thiếu", "short"),
    ("exc.over", "thừa", "over"),
    ("exc.bank_answer", "Ngân hàng trả lời", "Bank's answer"),
    ("exc.ref", "Mã giao dịch", "Ref."),
    ("exc.reason", "Lý do", "Reason"),
    ("exc.bank_name", "Tên ngân hàng ghi", "Name at the bank"),
    ("exc.value_date", "Ngày giá trị", "Value date"),
    (
        "exc.sort_hint",
        "Bấm vào tiêu đề cột để sắp xếp (bấm lần nữa để đảo chiều).",
        "Click a column heading to sort by it (again to reverse).",
    ),
    (
        "exc.no_cash",
        "Bỏ qua người nhận tiền mặt (chưa có tài khoản)",
        "Leave out people paid in cash (no account)",
    ),
    ("exc.per_page", "Số dòng mỗi trang", "Rows per page"),
    ("exc.go", "Đến", "Go"),
    (
        "exc.download_view",
        "Tải về danh sách đang lọc",
        "Download this filtered list",
    ),
    (
        "exc.download_all",
        "Tải về toàn bộ ngoại lệ",
        "Download all exceptions",
    ),
    (
        "exc.download_after_run",
        "Để tải về danh sách ngoại lệ (xlsx, csv), hãy chạy đối soát: danh sách của lần đối soát được lưu cố định.",
        "To download the exception list (xlsx, csv), run a reconciliation: a run's list is stored and fixed.",
    ),
    ("exc.total", "Tổng số", "Total"),
    ("exc.more_than", "hơn", "more than"),
    ("exc.page", "Trang", "Page"),
    ("exc.of", "trên", "of"),
    ("exc.prev", "Trang trước", "Previous page"),
    ("exc.next", "Trang sau", "Next page"),
    (
        "exc.unmatched_payout",
        "Khoản chi không có trong danh sách",
        "Payout matching nobody",
    ),
    (
        "exc.masked",
        "Số định danh được che một phần theo vai trò của bạn.",
        "Personal IDs are partly hidden for your role.",
    ),
    ("audit.title", "Nhật ký kiểm toán", "Audit log"),
    ("audit.verified", "Chuỗi băm hợp lệ", "Hash chain verified"),
    (
        "audit.broken",
        "Chuỗi băm bị phá vỡ tại mục",
        "Hash chain broken at entry",
    ),
    ("audit.entries", "mục", "entries"),
    ("audit.seq", "STT", "No."),
    ("audit.at", "Thời gian", "When"),
    ("audit.actor", "Người thực hiện", "Actor"),
    ("audit.action", "Thao tác", "Action"),
    ("audit.subject", "Đối tượng", "Subject"),
    ("audit.hash", "Mã băm", "Hash"),
    ("audit.older", "Cũ hơn", "Older"),
    ("audit.newer", "Mới hơn", "Newer"),
    ("audit.from", "Từ ngày", "From"),
    ("audit.to", "Đến ngày", "To"),
    ("audit.period", "Kỳ", "Period"),
    ("audit.programme", "Chương trình", "Programme"),
    ("audit.token", "Mã truy cập của", "Token of"),
    ("audit.bank", "Ngân hàng", "Bank"),
    ("error.title", "Có lỗi", "Something went wrong"),
    ("error.back", "Quay lại", "Go back"),
    (
        "error.forbidden",
        "Vai trò của bạn không được thực hiện thao tác này.",
        "Your role may not do this.",
    ),
    (
        "error.not_found",
        "Không tìm thấy trang hoặc dữ liệu.",
        "Page or record not found.",
    ),
    (
        "error.csrf",
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại.",
        "The form has expired or is invalid. Reload the page and try again.",
    ),
    (
        "error.internal",
        "Lỗi hệ thống. Vui lòng thử lại; nếu vẫn lỗi, báo quản trị viên.",
        "Internal error. Try again; if it persists, tell your administrator.",
    ),
    (
        "error.bad_input",
        "Dữ liệu nhập chưa đúng",
        "Please check your input",
    ),
    ("lang.switch", "English", "Tiếng Việt"),
];

/// Texts of one language, for templates: `{{ t.s("period.run") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn s(&self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, vi, en)) => match self.lang {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "missing page text");
                "?"
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self.lang {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }

    /// Pick between two texts built at run time (labels of outcomes, row-error reasons).
    pub fn pick<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // test code: a missing template dir should fail loudly
mod tests {
    use super::*;

    #[test]
    fn every_key_used_by_a_template_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("templates dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template text");
            for part in text.split("t.s(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                if !TEXTS.iter().any(|(k, _, _)| *k == key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "missing texts: {missing:?}");
    }

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, vi, en) in TEXTS {
            assert!(seen.insert(k), "duplicate key {k}");
            assert!(!vi.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(Tr { lang: Lang::En }.s("nav.periods"), "Payment periods");
        assert_eq!(Tr { lang: Lang::Vi }.s("nav.periods"), "Kỳ chi trả");
    }
}
