//! doisoat — đối soát chi trả an sinh xã hội không dùng tiền mặt.
//!
//! Layers point down: `domain` (pure rules and types, the audit chain) ← `import` (files →
//! typed rows) and `recon` (the pure engine) ← `report` (writers) ← `service` (the use
//! cases: periods, uploads, runs, callbacks, tokens, the CLI's job) ← `app` (the state a
//! request can reach) ← `http` (the API) and `web` (the pages), which never use each other
//! ← `server` (router and connection loop) ← the CLI (`src/main.rs`, `src/cli`). `store`
//! (the `Store` trait, SQLite and PostgreSQL) depends on `domain` only. The `layering` test
//! below reads every module's `crate::` paths and fails on any use outside this rule.

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod import;
pub mod metrics;
pub mod recon;
pub mod report;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
pub mod webhook;

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

    /// Every module and what it may use; a module missing here fails the test, so a new
    /// one states its place in the rule.
    const RULE: &[(&str, &[&str])] = &[
        ("domain", &[]),
        ("import", &["domain"]),
        ("recon", &["domain"]),
        ("report", &["domain", "import", "recon"]),
        ("store", &["domain"]),
        ("tokens", &["domain"]),
        ("webhook", &[]),
        ("config", &["domain", "import"]),
        ("telemetry", &["config"]),
        ("metrics", &[]),
        (
            "service",
            &[
                "domain", "import", "recon", "report", "store", "tokens", "webhook", "config",
                "metrics",
            ],
        ),
        ("app", &["domain", "service", "store", "config"]),
        // The API and the pages meet only in `app` (their state) and `server` (the router).
        (
            "http",
            &[
                "domain", "import", "report", "service", "store", "tokens", "webhook", "config",
                "app", "metrics",
            ],
        ),
        (
            "web",
            &[
                "domain", "import", "recon", "report", "service", "store", "tokens", "config",
                "app",
            ],
        ),
        (
            "server",
            &["domain", "store", "config", "app", "http", "web", "metrics"],
        ),
    ];

    #[test]
    fn layers_point_down() {
        for (module, allowed) in RULE {
            only(module, allowed);
        }
    }

    #[test]
    fn every_module_has_a_place_in_the_rule() {
        let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
            .unwrap_or_default();
        for name in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
            let name = name.trim_end_matches(';');
            assert!(
                RULE.iter().any(|(m, _)| *m == name),
                "{name} is not in the layering rule"
            );
        }
    }
}
