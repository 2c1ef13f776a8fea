//! Names of things: agents, DCs, contributions and contribution types.
//!
//! Ids are chosen by people (a DC called `festival`, a contribution called
//! `stage-build`) or derived from keys (an agent's public key in hex), so they
//! are validated strings rather than numbers. Inside a DC, members and
//! contributions are addressed by dense `u32` indices; ids are only looked up
//! once per operation.

use crate::limits::{
    AGENT_ID_BYTES_MAX, CONTRIBUTION_ID_BYTES_MAX, DC_ID_BYTES_MAX, TYPE_NAME_BYTES_MAX,
};
use crate::ProtocolError;

/// The prefix that marks the account a DC holds as an agent of other DCs.
/// People cannot pick ids with this prefix, so a DC's account cannot be
/// impersonated.
pub const DC_AGENT_PREFIX: &str = "dc:";

/// Whether `text` holds a character that must never reach a screen from the
/// ledger: control characters (an escape sequence can clear a terminal or
/// retitle its window) and the bidirectional overrides and isolates (which
/// make text read differently from what it says).
pub fn has_forbidden_char(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

fn check_text(kind: &'static str, text: &str, bytes_max: u32) -> Result<(), ProtocolError> {
    let reason = if text.is_empty() {
        Some("it is empty".to_string())
    } else if text.len() > bytes_max as usize {
        Some(format!(
            "it is {} bytes long, the maximum is {bytes_max}",
            text.len()
        ))
    } else if has_forbidden_char(text) {
        Some("it contains a control or bidirectional-override character".to_string())
    } else if text.trim() != text {
        Some("it starts or ends with white space".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ProtocolError::InvalidId {
            kind,
            id: text.chars().take(80).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Box<str>);

        impl $name {
            /// Validates `text` as this kind of id.
            pub fn new(text: &str) -> Result<$name, ProtocolError> {
                check_text($kind, text, $max)?;
                $name::check_extra(text)?;
                Ok($name(text.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{:?}", &*self.0)
            }
        }

        impl core::str::FromStr for $name {
            type Err = ProtocolError;
            fn from_str(text: &str) -> Result<$name, ProtocolError> {
                $name::new(text)
            }
        }
    };
}

id_type!(
    /// A pseudonymous agent: a person, or a DC acting in another DC.
    AgentId,
    "agent id",
    AGENT_ID_BYTES_MAX
);
id_type!(
    /// A decentralized cooperative.
    DcId,
    "DC id",
    DC_ID_BYTES_MAX
);
id_type!(
    /// A contribution, unique within its DC.
    ContributionId,
    "contribution id",
    CONTRIBUTION_ID_BYTES_MAX
);
id_type!(
    /// A contribution type of a DC (`code`, `design`, `care`...).
    TypeName,
    "contribution type",
    TYPE_NAME_BYTES_MAX
);

impl AgentId {
    fn check_extra(text: &str) -> Result<(), ProtocolError> {
        if text.starts_with(DC_AGENT_PREFIX) {
            return Err(ProtocolError::InvalidId {
                kind: "agent id",
                id: text.chars().take(80).collect(),
                reason: format!(
                    "ids starting with {DC_AGENT_PREFIX:?} are reserved for DC accounts"
                ),
            });
        }
        Ok(())
    }

    /// The account through which DC `dc` acts as an agent of other DCs.
    pub fn of_dc(dc: &DcId) -> AgentId {
        AgentId(format!("{DC_AGENT_PREFIX}{dc}").into())
    }

    /// The DC this account belongs to, when it is a DC's account.
    pub fn dc(&self) -> Option<&str> {
        self.0.strip_prefix(DC_AGENT_PREFIX)
    }
}

impl DcId {
    fn check_extra(text: &str) -> Result<(), ProtocolError> {
        // DC ids appear in URLs and in the ids of DC accounts; keep them plain.
        if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(ProtocolError::InvalidId {
                kind: "DC id",
                id: text.chars().take(80).collect(),
                reason: "use lower-case letters, digits, '-' and '_' only".to_string(),
            });
        }
        Ok(())
    }
}

impl ContributionId {
    fn check_extra(_: &str) -> Result<(), ProtocolError> {
        Ok(())
    }
}

impl TypeName {
    fn check_extra(_: &str) -> Result<(), ProtocolError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_agent(text: &str, ok: bool) {
        assert_eq!(AgentId::new(text).is_ok(), ok, "{text:?}");
    }

    #[test]
    fn agent_ids() {
        check_agent("ann", true);
        check_agent("Ann Smith", true);
        check_agent("añá", true);
        check_agent(&"a".repeat(64), true);
        check_agent(&"a".repeat(65), false);
        check_agent("", false);
        check_agent(" ann", false);
        check_agent("a\nb", false);
        check_agent("dc:festival", false);
    }

    #[test]
    fn dc_accounts_are_distinct_from_people() {
        let dc = DcId::new("festival").unwrap();
        let account = AgentId::of_dc(&dc);
        assert_eq!(account.as_str(), "dc:festival");
        assert_eq!(account.dc(), Some("festival"));
        assert_eq!(AgentId::new("festival").unwrap().dc(), None);
    }

    #[test]
    fn dc_ids_are_plain() {
        assert!(DcId::new("farm-coop_2").is_ok());
        assert!(DcId::new("Farm").is_err());
        assert!(DcId::new("a b").is_err());
    }
}
