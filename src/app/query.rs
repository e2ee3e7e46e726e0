//! Query strings as both the API and the pages read them.

/// A query string with each repeated key's values joined by commas (a multi-choice
/// filter's `outcome=a&outcome=b` reads as `outcome=a,b`), deserialised.
pub fn merged<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())?;
    let mut merged: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match merged.iter_mut().find(|(m, _)| *m == k) {
            Some((_, joined)) if v.trim().is_empty() => {}
            Some((_, joined)) if joined.trim().is_empty() => *joined = v,
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            None => merged.push((k, v)),
        }
    }
    let text = serde_urlencoded::to_string(&merged).map_err(|e| e.to_string())?;
    serde_urlencoded::from_str(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::merged;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Q {
        outcome: Option<String>,
        q: Option<String>,
    }

    #[test]
    fn repeated_keys_are_joined_by_commas() {
        let q: Q = merged("outcome=unpaid&q=nguy%E1%BB%85n&outcome=failed")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.outcome.as_deref(), Some("unpaid,failed"));
        assert_eq!(q.q.as_deref(), Some("nguyễn"));
        // An empty value adds nothing; a lone one stays.
        let q: Q = merged("outcome=&outcome=unpaid&outcome=").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.outcome.as_deref(), Some("unpaid"));
        let q: Q = merged("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            q,
            Q {
                outcome: None,
                q: None
            }
        );
    }
}
