//! `doisoat serve`, `migrate` and `healthcheck`, and the setup every command that needs
//! the configured store shares.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use doisoat::config::Config;
use doisoat::store::Store;

/// Commands that need the configured store: config, logging, runtime, connect (which
/// migrates), then the command.
pub fn with_store<F, Fut>(run: F) -> anyhow::Result<()>
where
    F: FnOnce(Config, Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = Config::from_env()?;
    doisoat::telemetry::init(config.log_format, "info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = doisoat::store::connect(&config.database_url)
            .await
            .with_context(|| {
                format!(
                    "opening the database {}",
                    doisoat::config::redacted_url(&config.database_url)
                )
            })?;
        run(config, store).await
    })
}

/// A raw HTTP/1.1 GET on loopback: the runtime image needs no curl.
pub fn healthcheck() -> anyhow::Result<()> {
    use std::io::{Read, Write as _};
    let config = Config::from_env()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], config.bind.port()));
    let mut conn = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    conn.set_read_timeout(Some(Duration::from_secs(3)))?;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head)?;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        anyhow::bail!("healthz: {}", String::from_utf8_lossy(&head))
    }
}
