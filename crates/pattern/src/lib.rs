//! `watchpost-pattern`: the STIX 2.1 patterning language — lexer, parser, AST, semantic
//! checks, the compiler to an indexed `PatternSet`, and the evaluator over observations.
//!
//! Not built yet (issue 4). It depends only on `watchpost-stix` and must never touch the
//! network, the disk or an async runtime, so that it can be fuzzed and benchmarked alone.
