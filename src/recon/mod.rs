//! Reconciliation: pure functions from typed rows to outcomes and coverage. No IO.

pub mod adjust;
pub mod arrears;
pub mod cells;
mod engine;
mod exceptions;
pub mod previous;
mod types;

pub use engine::{Keep, reconcile, reconcile_against};
pub use exceptions::{
    ExceptionKind, ExceptionRow, OtherListing, PayoutSummary, exception_count, exception_rows,
    exceptions,
};
pub use types::*;
