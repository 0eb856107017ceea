//! The evaluator: the exact semantics of the OASIS reference matcher (`stix2-matcher` 3.x).
//!
//! Matching runs in two stages, as in the reference. First every comparison expression is
//! evaluated against every observation — eagerly and completely, so an observation the
//! reference would reject (an invalid timestamp where a timestamp is compared) is an error here
//! too, whatever else matches. A property test passes for a root object when *some* value its
//! path reaches passes (and `NOT` negates that single-value test, so `NOT =` means "some value
//! differs"); `AND` inside `[...]` requires the same root object, `OR` either. Then the
//! observation expressions are combined into bindings ([`binding`]).

mod binding;
pub(crate) mod compare;
mod observations;
mod path;

pub use observations::{observations, Observation, Sco};
pub(crate) use path::visit_probe;

use crate::ast::{CompExpr, ObsExpr, Op, PropTest, Qualifier, Version};
use binding::{Bindings, ErrorSlot, Join};
use compare::Prepared;
use indexmap::IndexMap;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Why a match could not be decided: the observations are unusable as the reference defines
/// them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What is wrong with the input.
    pub message: String,
}

impl EvalError {
    pub(crate) fn input(message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
        }
    }
}

/// The result of a match: the indexes (into the observations as read) of the observed-data
/// of the first binding found, sorted — the reference's `sdos`.
pub type Matched = Vec<usize>;

/// For each matching observation (in the order the reference keeps), the root objects that
/// satisfied the comparison.
type ObsRoots<'a> = IndexMap<usize, BTreeSet<&'a str>>;

/// Prepared operands of the pattern's property tests, in tree order.
pub(crate) type PreparedTests = [Prepared];

pub(crate) struct Evaluator<'p, 'a> {
    pub(crate) version: Version,
    pub(crate) prepared: &'p PreparedTests,
    pub(crate) obs: &'a [Observation<'a>],
    pub(crate) next_test: usize,
    pub(crate) errors: ErrorSlot,
}

impl<'p, 'a> Evaluator<'p, 'a> {
    pub(crate) fn new(
        version: Version,
        prepared: &'p PreparedTests,
        obs: &'a [Observation<'a>],
    ) -> Self {
        Evaluator {
            version,
            prepared,
            obs,
            next_test: 0,
            errors: Rc::new(RefCell::new(None)),
        }
    }

    /// The first binding of `root`, as observation indexes, or `None` for no match.
    pub(crate) fn first_binding(&mut self, root: &ObsExpr) -> Result<Option<Matched>, EvalError> {
        let mut bindings = self.bindings(root)?;
        let first = bindings.next();
        drop(bindings);
        if let Some(e) = self.errors.borrow_mut().take() {
            return Err(e);
        }
        Ok(first.map(|b| {
            // Only the first instance of an observation names it, as in the reference.
            let set: BTreeSet<usize> = b
                .iter()
                .filter(|i| i.1 == 0)
                .map(|i| i.0 as usize)
                .collect();
            set.into_iter().collect()
        }))
    }

    fn bindings(&mut self, expr: &ObsExpr) -> Result<Bindings<'a>, EvalError> {
        let obs = self.obs;
        Ok(match expr {
            ObsExpr::Simple(c) => {
                let roots = self.comparison(c)?;
                binding::simple(roots.into_keys().collect(), obs)
            }
            ObsExpr::Group(inner) => self.bindings(inner)?,
            ObsExpr::And(items) => self.fold(items, |l, r| Box::new(Join::and(l, r)))?,
            ObsExpr::Or(items) => self.fold(items, binding::or)?,
            ObsExpr::FollowedBy(items) => {
                self.fold(items, |l, r| Box::new(Join::followed_by(l, r, obs)))?
            }
            ObsExpr::Qualified(inner, q) => {
                let input = self.bindings(inner)?;
                let errors = self.errors.clone();
                match q {
                    Qualifier::Repeats { times, .. } => binding::repeats(input, *times),
                    Qualifier::Within { micros, .. } => {
                        binding::within(input, *micros, obs, errors)
                    }
                    Qualifier::StartStop { start, stop, .. } => {
                        binding::start_stop(input, *start, *stop, obs, errors)
                    }
                }
            }
        })
    }

    fn fold(
        &mut self,
        items: &[ObsExpr],
        join: impl Fn(Bindings<'a>, Bindings<'a>) -> Bindings<'a>,
    ) -> Result<Bindings<'a>, EvalError> {
        let mut acc: Option<Bindings<'a>> = None;
        for item in items {
            let next = self.bindings(item)?;
            acc = Some(match acc {
                None => next,
                Some(prev) => join(prev, next),
            });
        }
        Ok(acc.unwrap_or_else(|| Box::new(std::iter::empty())))
    }

    /// Evaluates a comparison expression against every observation.
    fn comparison(&mut self, expr: &CompExpr) -> Result<ObsRoots<'a>, EvalError> {
        match expr {
            CompExpr::Test(t) => self.test(t),
            CompExpr::And(items) => {
                let mut acc = self.comparison(&items[0])?;
                for item in &items[1..] {
                    let other = self.comparison(item)?;
                    acc.retain(|obs, roots| match other.get(obs) {
                        Some(o) => {
                            roots.retain(|r| o.contains(r));
                            !roots.is_empty()
                        }
                        None => false,
                    });
                }
                Ok(acc)
            }
            CompExpr::Or(items) => {
                let mut acc = self.comparison(&items[0])?;
                for item in &items[1..] {
                    for (obs, roots) in self.comparison(item)? {
                        acc.entry(obs).or_default().extend(roots);
                    }
                }
                Ok(acc)
            }
        }
    }

    fn test(&mut self, t: &PropTest) -> Result<ObsRoots<'a>, EvalError> {
        let prepared = &self.prepared[self.next_test];
        self.next_test += 1;
        let mut out = ObsRoots::new();
        for (i, o) in self.obs.iter().enumerate() {
            let roots = if t.op == Op::Exists {
                self.exists(o, t)?
            } else {
                let mut passed = BTreeSet::new();
                for (root, values) in path::select(o, &t.path, self.version)? {
                    for v in &values {
                        if compare::passes(v, &t.op, prepared)? != t.negated {
                            passed.insert(root);
                            break;
                        }
                    }
                }
                passed
            };
            if !roots.is_empty() {
                out.insert(i, roots);
            }
        }
        Ok(out)
    }

    /// `EXISTS path`: root objects the path reaches a value from; `NOT EXISTS`: root objects of
    /// the type it reaches nothing from.
    fn exists(&self, o: &Observation<'a>, t: &PropTest) -> Result<BTreeSet<&'a str>, EvalError> {
        let reached: BTreeSet<&str> = path::select(o, &t.path, self.version)?
            .into_iter()
            .map(|(root, _)| root)
            .collect();
        if !t.negated {
            return Ok(reached);
        }
        Ok(path::roots(o, &t.path.object_type, self.version)
            .into_iter()
            .map(|(root, _)| root)
            .filter(|r| !reached.contains(r))
            .collect())
    }
}

/// Ids of the observed-data at `indexes` (`None` for an observed-data without an id).
pub fn ids<'a>(obs: &[Observation<'a>], indexes: &[usize]) -> Vec<Option<&'a str>> {
    indexes.iter().map(|i| obs[*i].id).collect()
}

/// Reads observations and matches; the convenience the CLI and tests use.
pub(crate) fn run(
    root: &ObsExpr,
    version: Version,
    prepared: &PreparedTests,
    inputs: &[Value],
) -> Result<Option<Vec<Option<String>>>, EvalError> {
    let obs = observations(inputs, version)?;
    let mut ev = Evaluator::new(version, prepared, &obs);
    Ok(ev.first_binding(root)?.map(|m| {
        ids(&obs, &m)
            .into_iter()
            .map(|s| s.map(str::to_string))
            .collect()
    }))
}
