//! doisoat — đối soát chi trả an sinh xã hội không dùng tiền mặt.
//!
//! Layers point down: `domain` (pure rules) ← `import` (files → typed rows) and `recon`
//! (the pure engine) ← `report` (writers) ← `service` (use cases) ← `app` (the state a
//! request can reach) ← `http` (the API) and `web` (the pages), which never use each other
//! ← `server` (router and connection loop) ← the CLI in `main.rs`. The `layering` test
//! below reads the code's `crate::` paths and holds the parts of this rule already true.

pub mod app;
pub mod callbacks;
pub mod config;
pub mod domain;
pub mod fixtures;
pub mod http;
pub mod import;
pub mod job;
pub mod recon;
pub mod report;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
pub mod webhook;

// Its home is `domain::audit`; the old path for the modules not yet moved to it.
pub use domain::audit;

#[cfg(test)]
mod layering {
    //! The dependency rule, read from the code: each module's `crate::` paths (outside
    //! comments) name only the modules it may depend on.

    use std::collections::BTreeSet;
    use std::path::Path;

    fn uses(module: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src")
                .join(module),
        ];
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(format!("{module}.rs"));
        if file.is_file() {
            stack.push(file);
        }
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                    stack.push(e.path());
                }
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String = line[i + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        out.insert(name);
                    }
                }
            }
        }
        out
    }

    fn only(module: &str, allowed: &[&str]) {
        let extra: Vec<String> = uses(module)
            .into_iter()
            .filter(|u| !allowed.contains(&u.as_str()))
            .collect();
        assert!(extra.is_empty(), "{module} may not depend on {extra:?}");
    }

    #[test]
    fn layers_point_down() {
        only("domain", &[]);
        only("recon", &["domain"]);
        only("import", &["domain"]);
        only("report", &["domain", "import", "recon"]);
        // The API and the pages meet only in `app` (their state) and `server` (the router).
        assert!(!uses("http").contains("web"), "http uses web");
        assert!(!uses("web").contains("http"), "web uses http");
        assert!(!uses("http").contains("server") && !uses("web").contains("server"));
    }
}
