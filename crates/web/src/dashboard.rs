//! The risk-trend dashboard (`/dashboard`) and the weekly risk-trend report (`/report`): what
//! was seen, when, where and by what, as SVG charts drawn here ([`crate::chart`]), each also
//! as CSV (`/dashboard/{chart}.csv`).
//!
//! What a user may count is the store's decision ([`watchpost_store::Store::trends`]): the
//! same read rules as for the objects the counts come from. Days are UTC days, as the store
//! counts them; the report names its week by dates.

use crate::chart::{BarChart, Series, TimeChart};
use crate::error::{respond, WebError};
use crate::i18n::{Key, Lang};
use crate::page::{render, Page};
use crate::session::Signed;
use crate::Console;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use watchpost_store::{Tally, TrendQuery, Trends};

const DAY_MICROS: i64 = 86_400_000_000;
/// Entries per ranking.
const TOP: usize = 10;

/// The spans the dashboard offers: (code, days, days per bucket, label).
const SPANS: &[(&str, i64, i64, Key)] = &[
    ("30d", 30, 1, Key::Last30Days),
    ("90d", 90, 1, Key::Last90Days),
    ("12w", 84, 7, Key::Last12Weeks),
    ("52w", 364, 7, Key::Last52Weeks),
];

/// `?span=` of the dashboard and its CSV.
#[derive(Deserialize)]
pub(crate) struct SpanParam {
    span: Option<String>,
}

/// `?week=YYYY-MM-DD` of the report: the first day of the week shown.
#[derive(Deserialize)]
pub(crate) struct WeekParam {
    week: Option<String>,
}

/// A chart as a page shows it.
pub struct ChartView {
    /// Its name in URLs and element ids.
    pub id: &'static str,
    /// Its title in the page's language.
    pub title: &'static str,
    /// The SVG, its text already escaped by [`crate::chart`].
    pub svg: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    span: &'static str,
    spans: Vec<(&'static str, &'static str, bool)>,
    charts: Vec<ChartView>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    page: Page,
    from: String,
    to: String,
    previous: String,
    next: String,
    sightings: i64,
    warnings: i64,
    new_indicators: i64,
    charts: Vec<ChartView>,
    top: Vec<Tally>,
}

fn today() -> i64 {
    crate::session::now().div_euclid(DAY_MICROS)
}

fn span_of(code: Option<&str>) -> (&'static str, i64, i64) {
    let found = SPANS
        .iter()
        .find(|s| Some(s.0) == code)
        .unwrap_or(&SPANS[1]);
    (found.0, found.1, found.2)
}

fn query_for(code: Option<&str>) -> (&'static str, TrendQuery) {
    let (code, days, bucket) = span_of(code);
    let to = today() + 1;
    let query = TrendQuery {
        from_day: to - days,
        to_day: to,
        bucket_days: bucket,
        top: TOP,
    };
    (code, query)
}

/// `2026-11-23` of a day count (UTC).
pub fn date(day: i64) -> String {
    let utc = crate::zone::ZONES
        .iter()
        .find(|z| z.name == "UTC")
        .copied()
        .unwrap_or_default();
    utc.format(day * DAY_MICROS).chars().take(10).collect()
}

/// The day count of `2026-11-23`.
fn day_of(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-').map(str::parse::<i64>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let day = era * 146_097 + doe - 719_468;
    (date(day) == text).then_some(day)
}

/// Every chart of the dashboard, in page order.
pub fn charts(trends: &Trends, lang: Lang) -> Vec<ChartView> {
    // Month and day: a year of weekly columns still leaves room for each label.
    let labels: Vec<String> = trends
        .buckets
        .iter()
        .map(|b| date(b.start_day)[5..].to_string())
        .collect();
    let series = |key: Key, f: fn(&watchpost_store::TrendBucket) -> i64| Series {
        name: lang.t(key).to_string(),
        values: trends.buckets.iter().map(|b| f(b) as f64).collect(),
    };
    let time = |id, title: Key, series: Vec<Series>, stacked| ChartView {
        id,
        title: lang.t(title),
        svg: TimeChart {
            title: lang.t(title).to_string(),
            labels: labels.clone(),
            series,
            stacked,
            empty: lang.t(Key::NoData).to_string(),
        }
        .svg(),
    };
    let mut out = vec![
        time(
            "activity",
            Key::SightingsOverTime,
            vec![
                series(Key::Sightings, |b| b.sightings),
                series(Key::WarningsRaised, |b| b.warnings),
            ],
            false,
        ),
        time(
            "novelty",
            Key::NewVsRecurring,
            vec![
                series(Key::NewIndicators, |b| b.new_indicators),
                series(Key::RecurringIndicators, |b| b.recurring_indicators),
            ],
            true,
        ),
    ];
    for (id, title, tallies) in rankings(trends) {
        out.push(ranking(id, lang.t(title), tallies, lang));
    }
    out
}

/// The rankings: (id, title, entries).
fn rankings(trends: &Trends) -> [(&'static str, Key, &[Tally]); 6] {
    [
        ("sectors", Key::BySector, &trends.by_sector),
        ("organisations", Key::ByOrganisation, &trends.by_org),
        ("malware", Key::ByMalware, &trends.by_malware),
        ("actors", Key::ByActor, &trends.by_actor),
        ("techniques", Key::ByTechnique, &trends.by_technique),
        ("indicators", Key::TopIndicators, &trends.top_indicators),
    ]
}

fn ranking(id: &'static str, title: &'static str, tallies: &[Tally], lang: Lang) -> ChartView {
    let rows = tallies
        .iter()
        .map(|t| {
            let label = if t.label.is_empty() {
                lang.t(Key::Unknown).to_string()
            } else {
                t.label.clone()
            };
            (label, t.count as f64, None)
        })
        .collect();
    ChartView {
        id,
        title,
        svg: BarChart {
            title: title.to_string(),
            rows,
            empty: lang.t(Key::NoData).to_string(),
        }
        .svg(),
    }
}

/// `GET /dashboard`.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Query(param): Query<SpanParam>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::Dashboard, "/dashboard");
    let result = async {
        let (span, query) = query_for(param.span.as_deref());
        let trends = console.store.trends(&signed.caller, &query).await?;
        render(&DashboardPage {
            spans: SPANS
                .iter()
                .map(|s| (s.0, lang.t(s.3), s.0 == span))
                .collect(),
            charts: charts(&trends, lang),
            span,
            page,
        })
    };
    respond(lang, result.await)
}

/// `GET /dashboard/{chart}.csv`: one chart's numbers.
pub(crate) async fn csv(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    Path(file): Path<String>,
    Query(param): Query<SpanParam>,
) -> Response {
    let result = async {
        let chart = file.strip_suffix(".csv").ok_or(WebError::NotFound)?;
        let (span, query) = query_for(param.span.as_deref());
        let trends = console.store.trends(&signed.caller, &query).await?;
        let body = chart_csv(&trends, chart, lang).ok_or(WebError::NotFound)?;
        let disposition = format!("attachment; filename=\"watchpost-{chart}-{span}.csv\"");
        Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response())
    };
    respond(lang, result.await)
}

/// A chart's numbers as CSV, or `None` for an unknown chart.
pub fn chart_csv(trends: &Trends, chart: &str, lang: Lang) -> Option<String> {
    let mut out = String::new();
    match chart {
        "activity" | "novelty" => {
            let header = [
                lang.t(Key::Date),
                lang.t(Key::Sightings),
                lang.t(Key::WarningsRaised),
                lang.t(Key::NewIndicators),
                lang.t(Key::RecurringIndicators),
            ];
            line(&mut out, header.iter().map(|s| s.to_string()));
            for b in &trends.buckets {
                line(
                    &mut out,
                    [
                        date(b.start_day),
                        b.sightings.to_string(),
                        b.warnings.to_string(),
                        b.new_indicators.to_string(),
                        b.recurring_indicators.to_string(),
                    ],
                );
            }
        }
        _ => {
            let (_, _, tallies) = rankings(trends).into_iter().find(|r| r.0 == chart)?;
            let header = ["label", "id", lang.t(Key::Sightings)];
            line(&mut out, header.iter().map(|s| s.to_string()));
            for t in tallies {
                line(
                    &mut out,
                    [
                        t.label.clone(),
                        t.id.clone().unwrap_or_default(),
                        t.count.to_string(),
                    ],
                );
            }
        }
    }
    Some(out)
}

/// One CSV record (RFC 4180). A cell a spreadsheet would run as a formula (`=`, `+`, `-`,
/// `@` first) starts with `'`: names come from partners' intelligence.
fn line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let cell = if cell.starts_with(['=', '+', '-', '@']) {
            format!("'{cell}")
        } else {
            cell
        };
        if cell.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push_str("\r\n");
}

/// `GET /report`: the week's risk trends, laid out to print (or save as PDF) and share.
pub(crate) async fn report(
    State(console): State<Arc<Console>>,
    signed: Signed,
    lang: Lang,
    headers: HeaderMap,
    Query(param): Query<WeekParam>,
) -> Response {
    let page = Page::new(&headers, &signed, Key::RiskReport, "/report");
    let result = async {
        let from = match param.week.as_deref() {
            Some(text) => day_of(text).ok_or_else(|| {
                WebError::Invalid(format!("{text:?} is not a date (expected YYYY-MM-DD)"))
            })?,
            None => today() - 6,
        };
        let query = TrendQuery {
            from_day: from,
            to_day: from + 7,
            bucket_days: 1,
            top: TOP,
        };
        let trends = console.store.trends(&signed.caller, &query).await?;
        let mut charts = charts(&trends, lang);
        // The report lists the top indicators as a table, with their ids.
        charts.retain(|c| c.id != "indicators" && c.id != "novelty");
        render(&ReportPage {
            from: date(from),
            to: date(from + 6),
            previous: date(from - 7),
            next: date(from + 7),
            sightings: trends.buckets.iter().map(|b| b.sightings).sum(),
            warnings: trends.buckets.iter().map(|b| b.warnings).sum(),
            new_indicators: trends.buckets.iter().map(|b| b.new_indicators).sum(),
            top: trends.top_indicators,
            charts,
            page,
        })
    };
    respond(lang, result.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_day_counts_agree() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(20_415), "2025-11-23");
        for day in [-1, 0, 59, 11_016, 19_782, 20_415, 30_000] {
            assert_eq!(day_of(&date(day)), Some(day));
        }
        assert_eq!(day_of("2026-02-30"), None);
        assert_eq!(day_of("2026-13-01"), None);
        assert_eq!(day_of("yesterday"), None);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut out = String::new();
        line(
            &mut out,
            [
                "=HYPERLINK(\"x\")".to_string(),
                "a,b".to_string(),
                "plain".to_string(),
            ],
        );
        assert_eq!(out, "\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",plain\r\n");
    }

    #[test]
    fn every_chart_has_its_csv() {
        let trends = Trends {
            buckets: vec![watchpost_store::TrendBucket {
                start_day: 20_415,
                sightings: 5,
                warnings: 2,
                new_indicators: 1,
                recurring_indicators: 0,
            }],
            by_malware: vec![Tally {
                id: Some("malware--1".into()),
                label: "PlugX".into(),
                count: 5,
            }],
            ..Trends::default()
        };
        for chart in charts(&trends, Lang::Vi) {
            assert!(
                chart_csv(&trends, chart.id, Lang::Vi).is_some(),
                "{}",
                chart.id
            );
        }
        let activity = chart_csv(&trends, "activity", Lang::En).unwrap();
        assert!(activity.ends_with("2025-11-23,5,2,1,0\r\n"), "{activity}");
        assert_eq!(
            chart_csv(&trends, "malware", Lang::En)
                .unwrap()
                .lines()
                .nth(1),
            Some("PlugX,malware--1,5")
        );
        assert_eq!(chart_csv(&trends, "nonsense", Lang::En), None);
    }
}
