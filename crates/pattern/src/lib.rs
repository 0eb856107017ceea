//! `watchpost-pattern`: the STIX patterning language — lexer, parser, syntax tree, semantic
//! checks, and the evaluator with the exact semantics of the OASIS reference matcher.
//!
//! Main types: [`Pattern`] (a parsed and checked pattern; `Send + Sync`, immutable),
//! [`PatternError`] (typed, with the column), [`EvalError`] (observations the reference would
//! reject). The indexed `PatternSet` for matching many indicators at line rate is built on top
//! of these (issue 4, in progress).
//!
//! It depends only on `watchpost-stix` and never touches the network, the disk or an async
//! runtime, so it can be fuzzed and benchmarked alone.
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//! use watchpost_pattern::{Pattern, Version};
//!
//! let pattern = Pattern::parse("[ipv4-addr:value ISSUBSET '198.51.100.0/24']").unwrap();
//! let bundle = json!({"type": "bundle", "id": "bundle--1", "objects": [
//!     {"type": "observed-data", "id": "observed-data--1", "number_observed": 1,
//!      "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z",
//!      "object_refs": ["ipv4-addr--1"]},
//!     {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "198.51.100.7"}]});
//! let matched = pattern.evaluate(&[bundle]).unwrap();
//! assert_eq!(matched, Some(vec![Some("observed-data--1".to_string())]));
//!
//! let err = Pattern::validate_version("[file:hashes.'SHA-256' = 'f00']", Version::V21).unwrap_err();
//! assert_eq!(err.message, "'f00' is not a valid SHA-256 hash");
//! ```
#![deny(missing_docs)]

pub mod ast;
mod check;
pub mod cidr;
mod error;
pub mod eval;
mod lexer;
pub mod lint;
pub mod literal;
mod parser;
pub mod set;
pub mod text;
pub mod workload;

pub use ast::Version;
pub use error::{ErrorKind, PatternError};
pub use eval::EvalError;
pub use parser::MAX_DEPTH;
pub use set::{Hit, Matcher, PatternSet, ProbeValue};

use ast::ObsExpr;
use eval::compare::Prepared;
use serde_json::Value;

/// A parsed, checked STIX pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    root: ObsExpr,
    version: Version,
    prepared: Vec<Prepared>,
    warnings: Vec<lint::PatternWarning>,
}

impl Pattern {
    /// Parses and checks a STIX 2.1 pattern.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        Self::parse_version(text, Version::V21)
    }

    /// Parses a pattern of the given grammar version and checks what the reference matcher
    /// checks: it can be evaluated.
    pub fn parse_version(text: &str, version: Version) -> Result<Self, PatternError> {
        Self::parse_with(text, version, check::Rules::Matcher)
    }

    /// Parses and checks a pattern as the OASIS pattern validator does, on top of
    /// [`Pattern::parse_version`]: hash literals must have their algorithm's shape, and a
    /// qualifier type may not repeat on one observation expression. Indicators entering the
    /// hub are held to this.
    pub fn validate_version(text: &str, version: Version) -> Result<Self, PatternError> {
        Self::parse_with(text, version, check::Rules::Validator)
    }

    fn parse_with(text: &str, version: Version, rules: check::Rules) -> Result<Self, PatternError> {
        let root = parser::parse(text, version)?;
        check::check(&root, rules)?;
        let warnings = match rules {
            check::Rules::Validator => lint::warnings(&root),
            check::Rules::Matcher => Vec::new(),
        };
        let mut prepared = Vec::new();
        prepare_obs(&root, &mut prepared);
        Ok(Pattern {
            root,
            version,
            prepared,
            warnings,
        })
    }

    /// What the pattern SHOULD do differently (only collected by
    /// [`Pattern::validate_version`]): unknown object types, properties a type does not have.
    pub fn warnings(&self) -> &[lint::PatternWarning] {
        &self.warnings
    }

    /// The syntax tree.
    pub fn root(&self) -> &ObsExpr {
        &self.root
    }

    /// The grammar version it was parsed with.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Matches observations (2.0 observed-data SDOs with embedded `objects`, or 2.1 bundles
    /// of observed-data and SCOs, per the pattern's version). Returns the ids of the
    /// observed-data of the first binding found, as the reference matcher reports them, or
    /// `None` when the pattern does not match.
    pub fn evaluate(
        &self,
        observations: &[Value],
    ) -> Result<Option<Vec<Option<String>>>, EvalError> {
        eval::run(&self.root, self.version, &self.prepared, observations)
    }
}

/// A slot for each property test's compiled operand, in the order the evaluator meets them.
fn prepare_obs(expr: &ObsExpr, out: &mut Vec<Prepared>) {
    expr.for_each_test(&mut |_| out.push(Prepared::new()));
}

/// Plugs pattern checking into the STIX validator, so `stix validate` and TAXII ingestion
/// reject indicators whose pattern is not valid.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyntaxChecker;

impl watchpost_stix::PatternSyntax for SyntaxChecker {
    fn check(&self, pattern: &str, pattern_version: &str) -> Result<(), String> {
        let version = Version::parse(pattern_version).unwrap_or_default();
        Pattern::validate_version(pattern, version)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
