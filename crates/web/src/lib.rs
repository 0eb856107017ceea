//! `watchpost-web`: the analyst console — server-rendered HTML, htmx, SVG charts, vi/en.
//!
//! Not built yet (issue 8). It may depend on `watchpost-store` and `watchpost-warn`.

pub mod chart;
