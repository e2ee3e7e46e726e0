//! Reconciliation: pure functions from typed rows to outcomes and coverage. No IO.

mod engine;
mod exceptions;
mod types;

pub use engine::reconcile;
pub use exceptions::{
    ExceptionKind, ExceptionRow, PayoutSummary, exception_count, exception_rows, exceptions,
};
pub use types::*;
