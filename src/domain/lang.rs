//! The language people read: Vietnamese by default, English available.

use serde::{Deserialize, Serialize};

/// Language of labels in pages and written reports. Vietnamese by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `vi` or `en`, as the `lang` query parameter and stored records spell it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}
