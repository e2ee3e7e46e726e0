//! Query strings as both the API and the pages read them.

/// Parameters a query string may carry (the exception filters with every choice ticked
/// are well under it).
const MAX_PAIRS: usize = 500;

/// A query string with each repeated key's values joined by commas (a multi-choice
/// filter's `outcome=a&outcome=b` reads as `outcome=a,b`), deserialised.
pub fn merged<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())?;
    // No page or API call has use for more; a longer query is refused, not walked.
    if pairs.len() > MAX_PAIRS {
        return Err(format!("more than {MAX_PAIRS} parameters"));
    }
    let mut merged: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (k, v) in pairs {
        match at.get(&k).and_then(|i| merged.get_mut(*i)) {
            Some((_, joined)) if v.trim().is_empty() => {}
            Some((_, joined)) if joined.trim().is_empty() => *joined = v,
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            None => {
                at.insert(k.clone(), merged.len());
                merged.push((k, v));
            }
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
