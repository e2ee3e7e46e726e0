//! Reconciliation: pure functions from typed rows to outcomes and coverage. No IO.

pub mod adjust;
pub mod cells;
mod engine;
mod exceptions;
mod types;

pub use engine::{Keep, reconcile};
pub use exceptions::{
    ExceptionKind, ExceptionRow, OtherListing, PayoutSummary, exception_count, exception_rows,
    exceptions,
};
pub use types::*;
