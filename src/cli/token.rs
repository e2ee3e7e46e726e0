//! `doisoat token create|revoke|list`: API tokens, issued through the service.

use std::sync::Arc;

use clap::Subcommand;

use doisoat::service::tokens::{self, TokenRequest};
use doisoat::store::Store;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Tạo mã (in ra một lần) / create a token (printed once, as `token: …`).
    Create {
        #[arg(long)]
        role: String,
        /// Ngân hàng của mã vai trò bank / the bank of a `bank` token.
        #[arg(long)]
        bank: Option<String>,
        /// Đơn vị: mã chỉ đọc và ghi trong đơn vị này và các đơn vị trực thuộc (mặc định VN)
        /// / the unit whose subtree the token reads and writes (`37`, `00004`; default `VN`).
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        name: String,
        /// Tên người giữ mã, hiện trên các trang ("Nguyễn Thị Hoa") / who holds the token, as
        /// pages name them (default: the token's name).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Thu hồi mã theo tên / revoke a token by name.
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// Liệt kê mã / list tokens (never their secrets).
    List,
}

pub async fn run(cmd: TokenCommand, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "admin".into())
    );
    match cmd {
        TokenCommand::Create {
            role,
            bank,
            unit,
            name,
            display_name,
        } => {
            let req = TokenRequest {
                name,
                role,
                bank,
                unit,
                display_name,
            };
            let issued = tokens::issue_token(store.as_ref(), req, &actor).await?;
            println!("token: {}", issued.secret);
            if let Some(text) = &issued.webhook_secret {
                println!("webhook_secret: {text}");
            }
            eprintln!(
                "Đã tạo mã '{}' (vai trò {}, đơn vị {}); chỉ hiện một lần / created; shown once.",
                issued.info.name,
                issued.info.role.as_str(),
                issued.info.unit
            );
        }
        TokenCommand::Revoke { name } => {
            tokens::revoke_token(store.as_ref(), &name, &actor).await?;
            println!("Đã thu hồi / revoked: {name}");
        }
        TokenCommand::List => {
            for t in store.list_tokens().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.role.as_str(),
                    t.bank_code.as_deref().unwrap_or("-"),
                    t.unit,
                    t.created_at.format("%d/%m/%Y %H:%M"),
                    t.revoked_at.map_or("active".to_owned(), |r| format!(
                        "revoked {}",
                        r.format("%d/%m/%Y %H:%M")
                    ))
                );
            }
        }
    }
    Ok(())
}
