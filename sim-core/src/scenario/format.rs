//! The scenario file format, exactly as docs/design.md §6 specifies it: TOML with `name`, `summary`,
//! `source`, an optional `evidence`, a `[world]` table with the options of `init`, and `[[step]]`
//! tables with `run` and an optional `expect`. Unknown keys are errors naming the file, the line
//! and the key.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::adsync::build::Build;
use crate::world::{ServiceAccountKind, WorldOptions};

/// The strongest source behind a scenario's expectations (docs/design.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Microsoft documentation.
    Doc,
    /// Public reverse engineering.
    Re,
    /// Community reports (GitHub issues on Microsoft's documentation, blogs, Q&A threads): they
    /// rank below reverse engineering and above inference (docs/design.md §3).
    Comm,
    /// Inference.
    Inf,
    /// A run on real Windows.
    Windows,
}

impl Evidence {
    /// The word a scenario file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Doc => "doc",
            Self::Re => "re",
            Self::Comm => "comm",
            Self::Inf => "inf",
            Self::Windows => "windows",
        }
    }
}

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name.
    pub name: String,
    /// What happens, in one sentence.
    pub summary: String,
    /// The article and section the expectations follow.
    pub source: String,
    /// The strongest source behind the expectations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The world (the options of `init`).
    #[serde(default)]
    pub world: WorldSpec,
    /// The steps, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

/// `[world]`: the options of `init`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// `--build`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// `--service-account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// `--forest`, repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forests: Option<Vec<String>>,
    /// `--tenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `--seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// `--kdf-rounds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf_rounds: Option<u32>,
    /// `--domain-controller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_controller: Option<bool>,
    /// `--keyset-follows-dpapi`: the opt-in departure from the 2023 article.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyset_follows_dpapi: Option<bool>,
}

/// One `[[step]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A line of the command language, with placeholders.
    pub run: String,
    /// What must hold afterwards; without it the step must exit 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// What this step follows, where it is not the scenario's `source` (a step a seed article
    /// does not contain cites the note or report it comes from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A step's expectations (docs/design.md §6).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The result code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<u32>,
    /// Substrings of the output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// Events the step must have added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventExpect>,
    /// The state of the service the step names (ADSync otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The last run status of the connector the step names (any connector otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// An HRESULT or Win32 code the step fails with (`0x80231000`, `1069`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails_with: Option<String>,
    /// The last run status every connector must have (`success` after a healthy cycle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_connectors: Option<String>,
}

/// One expected event: every field given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventExpect {
    /// `System` or `Application`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// The event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// The event source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A substring of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// toml's error as the line, column and message, without the source line toml quotes: a line
/// of a scenario or lab file may hold a password (`run = "net user X P"`), and an error must not
/// repeat it.
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            format!("TOML parse error at line {line}, column {column}: {message}")
        }
        None => format!("TOML parse error: {message}"),
    }
}

/// A scenario file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScenarioError {
    /// The TOML does not parse or has unknown keys (toml's message names the line and key).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// toml's message, with line, column and the offending key.
        message: String,
    },
    /// A `[world]` value is invalid.
    #[error("{file}: [world] {message}")]
    World {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl Scenario {
    /// Whether `source` cites Microsoft's documentation: one of the seed articles by title
    /// ([`crate::sources::ARTICLES`]) or a Microsoft Learn page by its address. A `doc`
    /// scenario's source must, or its decisive expectation rests on something weaker.
    pub fn cites_documentation(source: &str) -> bool {
        source.contains("https://learn.microsoft.com/")
            || crate::sources::ARTICLES.iter().any(|a| {
                a.split('"')
                    .nth(1)
                    .is_some_and(|title| source.contains(&format!("\"{title}\"")))
            })
    }

    /// Parses a scenario file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        let s: Self = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            file: file.to_owned(),
            message: toml_error(text, &e),
        })?;
        if s.steps.len() > crate::limits::MAX_STEPS_PER_SCENARIO {
            return Err(ScenarioError::Parse {
                file: file.to_owned(),
                message: format!(
                    "{} steps; a scenario has at most {} (MAX_STEPS_PER_SCENARIO)",
                    s.steps.len(),
                    crate::limits::MAX_STEPS_PER_SCENARIO
                ),
            });
        }
        Ok(s)
    }

    /// The file's text (what `--record` writes).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The `init` options of the scenario, with `seed` overriding the file's.
    pub fn options(&self, file: &str, seed: Option<u64>) -> Result<WorldOptions, ScenarioError> {
        self.world.options(file, seed)
    }
}

impl WorldSpec {
    /// The `init` options this table gives, with `seed` overriding its own; `file` names the
    /// file in errors.
    pub fn options(&self, file: &str, seed: Option<u64>) -> Result<WorldOptions, ScenarioError> {
        let bad = |message: String| ScenarioError::World {
            file: file.to_owned(),
            message,
        };
        let w = self;
        let mut o = WorldOptions {
            seed: seed.or(w.seed).unwrap_or(0),
            ..WorldOptions::default()
        };
        if let Some(b) = &w.build {
            o.build = b.parse::<Build>().map_err(|e| bad(e.to_string()))?;
        }
        if let Some(k) = &w.service_account {
            o.service_account = Some(ServiceAccountKind::parse(k).ok_or_else(|| {
                bad(format!(
                    "service_account = '{k}': use virtual, local, domain, gmsa or smsa"
                ))
            })?);
        }
        if let Some(f) = &w.forests {
            o.forests.clone_from(f);
        }
        o.tenant.clone_from(&w.tenant);
        if let Some(r) = w.kdf_rounds {
            o.kdf_rounds = r;
        }
        o.domain_controller = w.domain_controller.unwrap_or(false);
        o.keyset_follows_dpapi = w.keyset_follows_dpapi.unwrap_or(false);
        Ok(o)
    }
}
