//! `doisoat audit verify`: re-check the audit trail's hash chain.

use std::sync::Arc;

use clap::Subcommand;

use doisoat::store::Store;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Kiểm tra chuỗi băm / re-check the hash chain; names the first broken entry.
    Verify,
}

pub async fn verify(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let entries = doisoat::service::audit_trail(store.as_ref()).await?;
    match doisoat::domain::audit::verify(&entries) {
        Ok(n) => {
            println!("Chuỗi nhật ký hợp lệ / audit chain intact: {n} mục / entries");
            Ok(())
        }
        Err(b) => anyhow::bail!(
            "chuỗi nhật ký bị phá tại mục / audit chain broken at entry {}: {}",
            b.seq,
            b.reason
        ),
    }
}
