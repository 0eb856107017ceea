//! The syntax tree of a STIX pattern.
//!
//! Chains of the same operator (`a AND b AND c`) are n-ary nodes rather than nested binary
//! ones: the tree stays shallow however long the pattern, so walking and dropping it never
//! recurses deeper than the parentheses do. Evaluation folds them left to right, which is the
//! grammar's left associativity.

use crate::literal::Literal;

/// Which version of the patterning grammar a pattern is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// STIX 2.0: `START '…' STOP '…'` take strings; no `EXISTS`.
    V20,
    /// STIX 2.1 (the default).
    #[default]
    V21,
}

impl Version {
    /// `"2.0"` or `"2.1"`.
    pub fn parse(text: &str) -> Option<Version> {
        match text {
            "2.0" => Some(Version::V20),
            "2.1" => Some(Version::V21),
            _ => None,
        }
    }
}

/// An observation expression: what one or more observations must show.
#[derive(Clone, Debug, PartialEq)]
pub enum ObsExpr {
    /// `[ comparison ]`: one observation.
    Simple(CompExpr),
    /// `( … )`: grouping, which also resets the duplicate-qualifier rule.
    Group(Box<ObsExpr>),
    /// `a AND b AND …`: all, on distinct observations.
    And(Vec<ObsExpr>),
    /// `a OR b OR …`: any.
    Or(Vec<ObsExpr>),
    /// `a FOLLOWEDBY b …`: in time order.
    FollowedBy(Vec<ObsExpr>),
    /// An expression with a qualifier.
    Qualified(Box<ObsExpr>, Qualifier),
}

impl ObsExpr {
    /// Calls `f` on every property test, in the order the evaluator meets them (which is the
    /// order of their prepared operands).
    pub fn for_each_test<'a>(&'a self, f: &mut impl FnMut(&'a PropTest)) {
        match self {
            ObsExpr::Simple(c) => c.for_each_test(f),
            ObsExpr::Group(inner) | ObsExpr::Qualified(inner, _) => inner.for_each_test(f),
            ObsExpr::And(items) | ObsExpr::Or(items) | ObsExpr::FollowedBy(items) => {
                items.iter().for_each(|i| i.for_each_test(f))
            }
        }
    }
}

/// A qualifier of an observation expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`, in microseconds.
    Within {
        /// The window.
        micros: i64,
        /// Column of `WITHIN`.
        column: usize,
    },
    /// `REPEATS n TIMES`.
    Repeats {
        /// How many times.
        times: u64,
        /// Column of `REPEATS`.
        column: usize,
    },
    /// `START t'…' STOP t'…'`, microseconds since the epoch.
    StartStop {
        /// Inclusive start.
        start: i64,
        /// Exclusive stop.
        stop: i64,
        /// Column of `START`.
        column: usize,
    },
}

impl Qualifier {
    /// The keyword, as the OASIS validator names qualifier types.
    pub fn name(&self) -> &'static str {
        match self {
            Qualifier::Within { .. } => "WITHIN",
            Qualifier::Repeats { .. } => "REPEATS",
            Qualifier::StartStop { .. } => "STARTSTOP",
        }
    }
}

/// A comparison expression: what one observation must contain.
#[derive(Clone, Debug, PartialEq)]
pub enum CompExpr {
    /// `a AND b …`: on the same cyber-observable object.
    And(Vec<CompExpr>),
    /// `a OR b …`.
    Or(Vec<CompExpr>),
    /// One property test.
    Test(PropTest),
}

impl CompExpr {
    /// Calls `f` on every property test, left to right.
    pub fn for_each_test<'a>(&'a self, f: &mut impl FnMut(&'a PropTest)) {
        match self {
            CompExpr::And(items) | CompExpr::Or(items) => {
                items.iter().for_each(|i| i.for_each_test(f))
            }
            CompExpr::Test(t) => f(t),
        }
    }
}

/// `object-type:path NOT? operator operand`.
#[derive(Clone, Debug, PartialEq)]
pub struct PropTest {
    /// The object path.
    pub path: ObjectPath,
    /// `NOT` before the operator.
    pub negated: bool,
    /// The operator and its operand.
    pub op: Op,
    /// Column of the object path.
    pub column: usize,
}

/// Comparison operators with their operands.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `=` / `==`.
    Eq(Literal),
    /// `!=` / `<>`.
    Ne(Literal),
    /// `<`.
    Lt(Literal),
    /// `<=`.
    Le(Literal),
    /// `>`.
    Gt(Literal),
    /// `>=`.
    Ge(Literal),
    /// `IN (…)`.
    In(Vec<Literal>),
    /// `LIKE '…'`.
    Like(String),
    /// `MATCHES '…'`.
    Matches(String),
    /// `ISSUBSET '…'`.
    IsSubset(String),
    /// `ISSUPERSET '…'`.
    IsSuperset(String),
    /// `EXISTS` (written before the path).
    Exists,
}

impl Op {
    /// The operator as written.
    pub fn symbol(&self) -> &'static str {
        match self {
            Op::Eq(_) => "=",
            Op::Ne(_) => "!=",
            Op::Lt(_) => "<",
            Op::Le(_) => "<=",
            Op::Gt(_) => ">",
            Op::Ge(_) => ">=",
            Op::In(_) => "IN",
            Op::Like(_) => "LIKE",
            Op::Matches(_) => "MATCHES",
            Op::IsSubset(_) => "ISSUBSET",
            Op::IsSuperset(_) => "ISSUPERSET",
            Op::Exists => "EXISTS",
        }
    }
}

/// `type:first.second[0].'quoted key'[*]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    /// The cyber-observable object type.
    pub object_type: String,
    /// The steps from the object to the value.
    pub steps: Vec<Step>,
}

impl ObjectPath {
    /// The path as `type:key.key[0][*]`, keys unquoted: how a decoder names the paths it can
    /// extract ([`crate::Matcher::probe`]).
    pub fn dotted(&self) -> String {
        let mut out = format!("{}:", self.object_type);
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => out.push_str(k),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(n) => out.push_str(&format!("[{n}]")),
                Step::AnyIndex => out.push_str("[*]"),
            }
        }
        out
    }
}

/// One step of an object path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// A property or dictionary key.
    Key(String),
    /// A list index (negative indexes parse but never select anything).
    Index(i64),
    /// `[*]`: every element of a list.
    AnyIndex,
}
