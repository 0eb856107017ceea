//! Bindings: which observation instances satisfy which observation expressions.
//!
//! A pattern matches when some assignment of observation instances to its observation
//! expressions satisfies every operator and qualifier — a *binding*. Like the OASIS matcher we
//! produce bindings lazily, operator by operator, in the same order, so the first binding found
//! (whose observations a match reports) is the same one the reference reports. An observation
//! with `number_observed: n` stands for n instances `(observation, 0..n)`.
//!
//! Errors that the reference raises lazily (an observation whose `last_observed` precedes its
//! `first_observed`, met by a temporal qualifier) are recorded in a shared slot and surface when
//! the caller asks for the first binding.

use super::observations::Observation;
use super::EvalError;
use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;

/// One observation instance: (observation index, instance index).
pub type Inst = (u32, u32);

/// A binding: the instances bound, in pattern order (the reference's `None` fillers carry no
/// information and are left out).
pub type Binding = Vec<Inst>;

/// A lazy stream of bindings.
pub type Bindings<'a> = Box<dyn Iterator<Item = Binding> + 'a>;

/// Where lazily raised errors wait for the caller.
pub type ErrorSlot = Rc<RefCell<Option<EvalError>>>;

/// Decides whether a left and a right binding may be joined.
type Accept<'a> = Box<dyn Fn(&Binding, &Binding) -> bool + 'a>;

fn disjoint(a: &[Inst], b: &[Inst]) -> bool {
    if a.len() * b.len() <= 64 {
        return a.iter().all(|x| !b.contains(x));
    }
    let set: HashSet<&Inst> = a.iter().collect();
    b.iter().all(|x| !set.contains(x))
}

/// The instances of each matching observation, in the order the observations matched.
pub fn simple<'a>(matched: Vec<usize>, obs: &'a [Observation<'a>]) -> Bindings<'a> {
    Box::new(
        matched
            .into_iter()
            .flat_map(move |i| (0..obs[i].count).map(move |n| vec![(i as u32, n as u32)])),
    )
}

/// `AND` and `FOLLOWEDBY` between observation expressions: pairs of disjoint bindings, drawn
/// alternately from the right and the left as the reference does.
pub struct Join<'a> {
    lhs: Bindings<'a>,
    rhs: Bindings<'a>,
    next_l: Option<Binding>,
    next_r: Option<Binding>,
    lcache: Vec<Binding>,
    rcache: Vec<Binding>,
    out: VecDeque<Binding>,
    started: bool,
    accept: Accept<'a>,
}

impl<'a> Join<'a> {
    /// `lhs AND rhs`.
    pub fn and(lhs: Bindings<'a>, rhs: Bindings<'a>) -> Self {
        Self::new(lhs, rhs, Box::new(|l, r| disjoint(l, r)))
    }

    /// `lhs FOLLOWEDBY rhs`: some time of the left observations is not after some time of
    /// the right ones (latest `first_observed` on the left ≤ earliest `last_observed` on
    /// the right).
    pub fn followed_by(lhs: Bindings<'a>, rhs: Bindings<'a>, obs: &'a [Observation<'a>]) -> Self {
        let accept = move |l: &Binding, r: &Binding| {
            let latest_first = l.iter().map(|i| obs[i.0 as usize].first).max();
            let earliest_last = r.iter().map(|i| obs[i.0 as usize].last).min();
            disjoint(l, r) && latest_first <= earliest_last
        };
        Self::new(lhs, rhs, Box::new(accept))
    }

    fn new(lhs: Bindings<'a>, rhs: Bindings<'a>, accept: Accept<'a>) -> Self {
        Join {
            lhs,
            rhs,
            next_l: None,
            next_r: None,
            lcache: Vec::new(),
            rcache: Vec::new(),
            out: VecDeque::new(),
            started: false,
            accept,
        }
    }
}

impl Iterator for Join<'_> {
    type Item = Binding;

    fn next(&mut self) -> Option<Binding> {
        loop {
            if let Some(b) = self.out.pop_front() {
                return Some(b);
            }
            if !self.started {
                self.started = true;
                self.next_r = self.rhs.next();
                self.next_l = self.lhs.next();
                if self.next_r.is_none() || self.next_l.is_none() {
                    self.next_r = None;
                    self.next_l = None;
                    return None;
                }
            }
            if self.next_r.is_none() && self.next_l.is_none() {
                return None;
            }
            if let Some(r) = self.next_r.take() {
                for l in &self.lcache {
                    if (self.accept)(l, &r) {
                        self.out.push_back([l.as_slice(), r.as_slice()].concat());
                    }
                }
                self.rcache.push(r);
                self.next_r = self.rhs.next();
            }
            if let Some(l) = self.next_l.take() {
                for r in &self.rcache {
                    if (self.accept)(&l, r) {
                        self.out.push_back([l.as_slice(), r.as_slice()].concat());
                    }
                }
                self.lcache.push(l);
                self.next_l = self.lhs.next();
            }
        }
    }
}

/// `OR` between observation expressions: the bindings of either side, alternating.
pub fn or<'a>(mut lhs: Bindings<'a>, mut rhs: Bindings<'a>) -> Bindings<'a> {
    let mut next_l = lhs.next();
    let mut next_r = rhs.next();
    let mut turn_left = true;
    Box::new(std::iter::from_fn(move || loop {
        if next_l.is_none() && next_r.is_none() {
            return None;
        }
        let left = turn_left;
        turn_left = !turn_left;
        if left {
            if let Some(b) = next_l.take() {
                next_l = lhs.next();
                return Some(b);
            }
        } else if let Some(b) = next_r.take() {
            next_r = rhs.next();
            return Some(b);
        }
    }))
}

/// `REPEATS k TIMES`: combinations of k pairwise-disjoint bindings, built incrementally and
/// lazily as the reference's `_filtered_combinations` does — so the first combination is found
/// without enumerating the others, however many there are.
pub fn repeats<'a>(input: Bindings<'a>, k: u64) -> Bindings<'a> {
    if k == 1 {
        return input;
    }
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    let mut input = input;
    let mut generated: Vec<Binding> = Vec::new();
    let mut primed = false;
    let mut current: Option<(FromList, Binding)> = None;
    Box::new(std::iter::from_fn(move || loop {
        if let Some((combos, next_value)) = &mut current {
            if let Step::Item(combo) = combos.next_step() {
                let mut flat: Binding = combo.concat();
                flat.extend_from_slice(next_value);
                return Some(flat);
            }
            if let Some((_, v)) = current.take() {
                generated.push(v);
            }
            continue;
        }
        if !primed {
            primed = true;
            for _ in 0..k.saturating_sub(1) {
                match input.next() {
                    Some(b) => generated.push(b),
                    None => break,
                }
            }
        }
        let next_value = input.next()?;
        let filtered: Vec<Binding> = generated
            .iter()
            .filter(|c| disjoint(c, &next_value))
            .cloned()
            .collect();
        current = Some((FromList::new(filtered, k - 1), next_value));
    }))
}

/// What the lazy combination generator produces next.
enum Step {
    Item(Vec<Binding>),
    /// The reference's `NotEnoughValues(n)`: raised only before anything was produced.
    NotEnough(usize),
    End,
}

/// A lazy port of the reference's `_filtered_combinations_from_list`, including its pruning.
struct FromList {
    list: Vec<Binding>,
    k: usize,
    i: usize,
    started: bool,
    done: bool,
    /// The combinations of the elements after `i` that are disjoint from element `i`:
    /// the generator, whether it produced anything, and how many elements it was given.
    sub: Option<(Box<FromList>, bool, usize)>,
}

impl FromList {
    fn new(list: Vec<Binding>, k: usize) -> Self {
        FromList {
            list,
            k,
            i: 0,
            started: false,
            done: false,
            sub: None,
        }
    }

    fn next_step(&mut self) -> Step {
        if self.done {
            return Step::End;
        }
        if self.k == 1 {
            let item = self.list.get(self.i).map(|b| vec![b.clone()]);
            self.i += 1;
            return item.map_or(Step::End, Step::Item);
        }
        if !self.started {
            self.started = true;
            let bound = bound_largest(&self.list);
            if bound < self.k {
                self.done = true;
                return Step::NotEnough(self.k - bound);
            }
        }
        loop {
            if self.sub.is_none() {
                if self.i + self.k > self.list.len() {
                    self.done = true;
                    return Step::End;
                }
                let head = &self.list[self.i];
                let filtered: Vec<Binding> = self.list[self.i + 1..]
                    .iter()
                    .filter(|c| disjoint(head, c))
                    .cloned()
                    .collect();
                let len = filtered.len();
                self.sub = Some((Box::new(FromList::new(filtered, self.k - 1)), false, len));
            }
            let Some((sub, yielded, filtered_len)) = &mut self.sub else {
                continue;
            };
            match sub.next_step() {
                Step::Item(mut combo) => {
                    *yielded = true;
                    combo.insert(0, self.list[self.i].clone());
                    return Step::Item(combo);
                }
                Step::End => {
                    self.sub = None;
                    self.i += 1;
                }
                Step::NotEnough(_) if *yielded => {
                    self.sub = None;
                    self.i += 1;
                }
                Step::NotEnough(missing) => {
                    let rest = self.list.len() - self.i - 1;
                    let max_add = (rest - *filtered_len).min(self.list[self.i].len());
                    let expected_missing = (missing + 1).saturating_sub(max_add);
                    self.sub = None;
                    if expected_missing > 0 {
                        self.done = true;
                        return if self.i == 0 {
                            Step::NotEnough(expected_missing)
                        } else {
                            Step::End
                        };
                    }
                    self.i += 1;
                }
            }
        }
    }
}

/// An upper bound on how many disjoint bindings can be picked from `list`
/// (the reference's `_bound_largest_combination`).
fn bound_largest(list: &[Binding]) -> usize {
    let Some(max_size) = list.iter().map(Vec::len).max() else {
        return 0;
    };
    if max_size == 0 {
        return 0;
    }
    let mut by_size: Vec<HashSet<Inst>> = vec![HashSet::new(); max_size + 1];
    for b in list {
        by_size[b.len()].extend(b.iter().copied());
    }
    let mut consumed: HashSet<Inst> = HashSet::new();
    let mut size = 0;
    for (i, ids) in by_size.iter().enumerate().take(max_size).skip(1) {
        let available: Vec<Inst> = ids.difference(&consumed).copied().collect();
        size += available.len().div_ceil(i);
        consumed.extend(available);
    }
    size + by_size[max_size].difference(&consumed).count() / max_size
}

/// The reference's interval overlap classes, used by `WITHIN` and `START`/`STOP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// Disjoint.
    None,
    /// Overlapping by more than a point.
    Proper,
    /// Touching where the first ends and the second starts.
    TouchInner,
    /// Touching where the second ends and the first starts.
    TouchOuter,
    /// Both are the same single point.
    TouchPoint,
}

/// `_overlap(min1, max1, min2, max2)`; an interval that ends before it starts is an error.
pub fn overlap(min1: i64, max1: i64, min2: i64, max2: i64) -> Result<Overlap, EvalError> {
    if min1 > max1 || min2 > max2 {
        return Err(EvalError::input(
            "an observation's last_observed is earlier than its first_observed",
        ));
    }
    Ok(if min1 == max1 && max1 == min2 && min2 == max2 {
        Overlap::TouchPoint
    } else if max1 == min2 {
        Overlap::TouchInner
    } else if max2 == min1 {
        Overlap::TouchOuter
    } else if min2 <= max1 && min1 <= max2 {
        Overlap::Proper
    } else {
        Overlap::None
    })
}

/// `WITHIN`: all bound observations fit in a window of `micros`.
pub fn within<'a>(
    input: Bindings<'a>,
    micros: i64,
    obs: &'a [Observation<'a>],
    errors: ErrorSlot,
) -> Bindings<'a> {
    Box::new(input.filter(move |b| {
        let Some(earliest_last) = b.iter().map(|i| obs[i.0 as usize].last).min() else {
            return true;
        };
        let test_end = earliest_last.saturating_add(micros);
        b.iter().all(|i| {
            let o = &obs[i.0 as usize];
            match overlap(o.first, o.last, earliest_last, test_end) {
                Ok(r) => r != Overlap::None,
                Err(e) => {
                    errors.borrow_mut().get_or_insert(e);
                    false
                }
            }
        })
    }))
}

/// `START … STOP …`: every bound observation can lie in [start, stop).
pub fn start_stop<'a>(
    input: Bindings<'a>,
    start: i64,
    stop: i64,
    obs: &'a [Observation<'a>],
    errors: ErrorSlot,
) -> Bindings<'a> {
    if start >= stop {
        return Box::new(std::iter::empty());
    }
    Box::new(input.filter(move |b| {
        b.iter().all(|i| {
            let o = &obs[i.0 as usize];
            match overlap(start, stop, o.first, o.last) {
                Ok(r) => matches!(r, Overlap::Proper | Overlap::TouchOuter),
                Err(e) => {
                    errors.borrow_mut().get_or_insert(e);
                    false
                }
            }
        })
    }))
}
