//! The shared frame of every page.

use crate::domain::access::Role;
use crate::web::i18n::Tr;
use crate::web::session::{self, Viewer};

pub struct Nav {
    pub name: String,
    pub role: &'static str,
    pub can_audit: bool,
    pub csrf: String,
    /// The viewer's unit ("Thành phố Hà Nội"): what they read and write within.
    pub unit: String,
}

/// What the shared frame needs: the texts, who is signed in, where the language switch
/// comes back to.
pub struct Layout {
    pub nav: Option<Nav>,
    pub here: String,
}

impl Layout {
    pub(super) fn anonymous(_t: Tr, here: &str) -> Self {
        Layout {
            nav: None,
            here: session::url_encode(here),
        }
    }

    pub(super) fn of(v: &Viewer, here: &str) -> Self {
        let t = Tr { lang: v.lang };
        Layout {
            nav: Some(Nav {
                name: v.token().person().to_owned(),
                role: t.s(match v.role() {
                    Role::Admin => "role.admin",
                    Role::Accountant => "role.accountant",
                    Role::Approver => "role.approver",
                    Role::Auditor => "role.auditor",
                    Role::Bank => "role.bank",
                }),
                can_audit: v.can_audit(),
                csrf: v.csrf().to_owned(),
                unit: super::unit_name(&v.token().unit),
            }),
            here: session::url_encode(here),
        }
    }
}
