//! Pure domain rules: no IO, no panics on input. Everything that interprets what a
//! person typed into a spreadsheet (IDs, amounts, names, banks, dates, statuses,
//! periods) lives here so import and reconciliation share one reading of the data.

pub mod access;
pub mod approval;
pub mod attributed;
pub mod audit;
pub mod banks;
pub mod columns;
pub mod dates;
pub mod digest;
pub mod lang;
pub mod money;
pub mod names;
pub mod payment_orders;
pub mod period;
pub mod population_id;
pub mod reason_codes;
pub mod records;
pub mod resolution;
pub mod status;
pub mod units;

pub use banks::{Bank, BankId};
pub use dates::DateOrYear;
pub use digest::sha256_hex;
pub use lang::Lang;
pub use money::AmountError;
pub use period::{PeriodCode, PeriodError};
pub use population_id::{IdCheck, IdProblem, PersonalId, Sex};
pub use status::PayoutStatus;
