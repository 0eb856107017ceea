//! Charts drawn on the server as SVG: the browser needs no charting library, a chart costs
//! one string, and it prints as sharply as the text around it.
//!
//! Two shapes cover the dashboard: a [`TimeChart`] (columns per day or week, one or more
//! series, side by side or stacked) and a [`BarChart`] (a ranking, longest bar first). Every
//! label is escaped here, so a chart is safe to embed as it is. Each bar carries its value in
//! `data-value`, which the tests and anyone scripting the page can read back.

use std::fmt::Write;

/// Colours of series, in order: readable on white and in greyscale print.
const PALETTE: [&str; 4] = ["#1f5fa8", "#d9822b", "#2e8540", "#8e44ad"];

/// One series of a time chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Its name, shown in the legend.
    pub name: String,
    /// One value per bucket.
    pub values: Vec<f64>,
}

/// Columns over time: one group per bucket, one column per series, or stacked.
#[derive(Clone, Debug)]
pub struct TimeChart {
    /// The chart's accessible title.
    pub title: String,
    /// One label per bucket (a date), oldest first.
    pub labels: Vec<String>,
    /// The series, each with one value per label.
    pub series: Vec<Series>,
    /// Whether the series stack in one column rather than stand side by side.
    pub stacked: bool,
    /// What an empty chart says.
    pub empty: String,
}

/// A ranking: one horizontal bar per entry, in the order given.
#[derive(Clone, Debug)]
pub struct BarChart {
    /// The chart's accessible title.
    pub title: String,
    /// (label, value, link) per bar.
    pub rows: Vec<(String, f64, Option<String>)>,
    /// What an empty chart says.
    pub empty: String,
}

const WIDTH: f64 = 640.0;
const TIME_HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;
const ROW: f64 = 24.0;
const LABEL_WIDTH: f64 = 220.0;

impl TimeChart {
    /// The chart as an `<svg>` element.
    pub fn svg(&self) -> String {
        let buckets = self.labels.len();
        let totals: Vec<f64> = (0..buckets)
            .map(|i| {
                let values = self.series.iter().map(|s| value(s, i));
                if self.stacked {
                    values.sum()
                } else {
                    values.fold(0.0, f64::max)
                }
            })
            .collect();
        let max = nice_ceiling(totals.iter().copied().fold(0.0, f64::max));
        let mut out = open(&self.title, WIDTH, TIME_HEIGHT);
        if buckets == 0 || max == 0.0 {
            empty(&mut out, &self.empty, TIME_HEIGHT);
            out.push_str("</svg>");
            return out;
        }
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = TIME_HEIGHT - TOP - BOTTOM;
        y_axis(&mut out, max, plot_h);
        self.legend(&mut out);
        let slot = plot_w / buckets as f64;
        let lanes = if self.stacked {
            1
        } else {
            self.series.len().max(1)
        };
        let bar_w = (slot * 0.8 / lanes as f64).max(1.0);
        for i in 0..buckets {
            let x0 = LEFT + slot * i as f64 + slot * 0.1;
            let mut base = 0.0;
            for (k, s) in self.series.iter().enumerate() {
                let v = value(s, i);
                let h = v / max * plot_h;
                let (x, y) = if self.stacked {
                    (x0, TOP + plot_h - (base + v) / max * plot_h)
                } else {
                    (x0 + bar_w * k as f64, TOP + plot_h - h)
                };
                base += v;
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{}" data-value="{}"><title>{}: {} ({})</title></rect>"#,
                    PALETTE[k % PALETTE.len()],
                    number(v),
                    escape(&self.labels[i]),
                    number(v),
                    escape(&s.name)
                );
            }
        }
        self.x_labels(&mut out, slot);
        out.push_str("</svg>");
        out
    }

    fn legend(&self, out: &mut String) {
        let mut x = LEFT;
        for (k, s) in self.series.iter().enumerate() {
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="6" width="12" height="12" fill="{}"/><text x="{:.1}" y="16" font-size="12">{}</text>"#,
                PALETTE[k % PALETTE.len()],
                x + 16.0,
                escape(&s.name)
            );
            x += 24.0 + 7.0 * s.name.chars().count() as f64;
        }
    }

    /// At most about twelve date labels, evenly spaced, so they never overlap.
    fn x_labels(&self, out: &mut String, slot: f64) {
        let step = self.labels.len().div_ceil(12).max(1);
        for (i, label) in self.labels.iter().enumerate().step_by(step) {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
                LEFT + slot * (i as f64 + 0.5),
                TIME_HEIGHT - BOTTOM + 16.0,
                escape(label)
            );
        }
    }
}

impl BarChart {
    /// The chart as an `<svg>` element.
    pub fn svg(&self) -> String {
        let height = TOP + ROW * self.rows.len().max(1) as f64 + 8.0;
        let max = nice_ceiling(self.rows.iter().map(|r| r.1).fold(0.0, f64::max));
        let mut out = open(&self.title, WIDTH, height);
        if self.rows.is_empty() || max == 0.0 {
            empty(&mut out, &self.empty, height);
            out.push_str("</svg>");
            return out;
        }
        let plot_w = WIDTH - LABEL_WIDTH - RIGHT - 48.0;
        for (i, (label, v, href)) in self.rows.iter().enumerate() {
            let y = TOP + ROW * i as f64;
            let w = v.max(0.0) / max * plot_w;
            let text = format!(
                r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"#,
                LABEL_WIDTH - 8.0,
                y + 15.0,
                escape(&shorten(label, 34))
            );
            match href {
                Some(h) => {
                    let _ = write!(out, r#"<a href="{}">{text}</a>"#, escape(h));
                }
                None => out.push_str(&text),
            }
            let _ = write!(
                out,
                r#"<rect x="{LABEL_WIDTH:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}" data-value="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                y + 3.0,
                ROW - 6.0,
                PALETTE[0],
                number(*v),
                escape(label),
                number(*v),
                LABEL_WIDTH + w + 6.0,
                y + 15.0,
                number(*v)
            );
        }
        out.push_str("</svg>");
        out
    }
}

fn value(series: &Series, i: usize) -> f64 {
    series
        .values
        .get(i)
        .copied()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
        .max(0.0)
}

fn open(title: &str, width: f64, height: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" font-family="sans-serif"><title>{}</title>"#,
        escape(title)
    )
}

fn empty(out: &mut String, text: &str, height: f64) {
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle" fill="#666">{}</text>"##,
        WIDTH / 2.0,
        height / 2.0,
        escape(text)
    );
}

/// How many steps the axis up to `max` (a [`nice_ceiling`]) is cut into: whole steps for the
/// whole counts charts show (5 → 1, 2, 3, 4, 5; 20 → 5, 10, 15, 20).
fn divisions(max: f64) -> u32 {
    if (1.0..=5.0).contains(&max) && max.fract() == 0.0 {
        return max as u32;
    }
    let lead = max / 10f64.powf(max.log10().floor());
    if (lead - 2.0).abs() < 1e-9 {
        4
    } else {
        5
    }
}

/// Grid lines with their values.
fn y_axis(out: &mut String, max: f64, plot_h: f64) {
    let n = divisions(max);
    for k in 0..=n {
        let v = max * f64::from(k) / f64::from(n);
        let y = TOP + plot_h - plot_h * f64::from(k) / f64::from(n);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            number(v)
        );
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ that is at least `x`: an axis ends on a round number.
pub fn nice_ceiling(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 0.0;
    }
    let magnitude = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

/// A value as a chart shows it: whole numbers without a fraction.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The bars of a chart: (data-value, width or height, fill).
    fn bars(svg: &str, dimension: &str) -> Vec<(f64, f64, String)> {
        let doc = roxmltree::Document::parse(svg).expect("a chart is well-formed XML");
        doc.descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("data-value").is_some())
            .map(|n| {
                (
                    n.attribute("data-value").unwrap().parse().unwrap(),
                    n.attribute(dimension).unwrap().parse().unwrap(),
                    n.attribute("fill").unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn labels_are_text_never_markup() {
        let evil = "<script>alert(1)</script>&\"'";
        let chart = BarChart {
            title: evil.into(),
            rows: vec![(evil.into(), 3.0, Some(format!("/objects/{evil}")))],
            empty: String::new(),
        };
        let svg = chart.svg();
        assert!(!svg.contains("<script"), "{svg}");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert_eq!(title.text(), Some(evil));
    }

    #[test]
    fn stacked_columns_add_up_and_side_by_side_ones_do_not() {
        let series = vec![
            Series {
                name: "new".into(),
                values: vec![3.0, 0.0, 7.0],
            },
            Series {
                name: "recurring".into(),
                values: vec![1.0, 2.0, 3.0],
            },
        ];
        let mut chart = TimeChart {
            title: "Indicators".into(),
            labels: vec!["1/11".into(), "8/11".into(), "15/11".into()],
            series,
            stacked: true,
            empty: String::new(),
        };
        // Stacked: the tallest column is 10, the axis ends at 10, heights are in proportion.
        let plot_h = TIME_HEIGHT - TOP - BOTTOM;
        for (v, h, _) in bars(&chart.svg(), "height") {
            assert!((h - v / 10.0 * plot_h).abs() < 0.06, "{v} → {h}");
        }
        chart.stacked = false;
        // Side by side: the tallest is 7, the axis ends at 10 all the same (1-2-5 steps).
        let side = bars(&chart.svg(), "height");
        assert_eq!(side.len(), 6);
        assert_eq!(side[0].2, PALETTE[0]);
        assert_eq!(side[1].2, PALETTE[1]);
    }

    #[test]
    fn axes_step_in_whole_numbers() {
        for (max, n) in [
            (1.0, 1),
            (2.0, 2),
            (5.0, 5),
            (10.0, 5),
            (20.0, 4),
            (50.0, 5),
            (200.0, 4),
        ] {
            assert_eq!(divisions(max), n, "{max}");
            assert_eq!((max / f64::from(n)).fract(), 0.0, "{max}");
        }
    }

    #[test]
    fn empty_charts_say_so() {
        let chart = BarChart {
            title: "Malware".into(),
            rows: Vec::new(),
            empty: "Không có dữ liệu".into(),
        };
        let svg = chart.svg();
        assert!(svg.contains("Không có dữ liệu"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        roxmltree::Document::parse(&svg).unwrap();
    }

    proptest! {
        #[test]
        fn an_axis_ends_on_a_round_number_at_most_two_and_a_half_times_the_data(x in 1e-6f64..1e12) {
            let c = nice_ceiling(x);
            prop_assert!(c >= x * (1.0 - 1e-9));
            prop_assert!(c <= x * 2.5 + 1e-9, "{} → {}", x, c);
            let lead = c / 10f64.powf(c.log10().floor());
            prop_assert!([1.0, 2.0, 5.0, 10.0].iter().any(|m| (lead - m).abs() < 1e-6), "{}", c);
        }

        #[test]
        fn bars_are_in_proportion_and_charts_always_parse(
            rows in proptest::collection::vec(("\\PC{0,40}", 0u32..1_000_000), 0..20),
        ) {
            let chart = BarChart {
                title: "t".into(),
                rows: rows.iter().map(|(l, v)| (l.clone(), f64::from(*v), None)).collect(),
                empty: "none".into(),
            };
            let svg = chart.svg();
            let drawn = bars(&svg, "width");
            let max = nice_ceiling(rows.iter().map(|r| f64::from(r.1)).fold(0.0, f64::max));
            if max > 0.0 {
                prop_assert_eq!(drawn.len(), rows.len());
                let plot_w = WIDTH - LABEL_WIDTH - RIGHT - 48.0;
                for (v, w, _) in drawn {
                    prop_assert!((w - v / max * plot_w).abs() < 0.06);
                }
            } else {
                prop_assert!(drawn.is_empty());
            }
        }
    }
}
