//! The query parameters of TAXII 2.1 (§3.4): `added_after`, `limit`, `next` and the `match[…]`
//! filters, read into a store [`Query`]. Unknown parameters are ignored, as the specification
//! allows; a known one with a bad value is a 400 that names it.

use super::error::TaxiiError;
use watchpost_stix::Timestamp;
use watchpost_store::{Micros, Query, VersionFilter};

/// Page sizes: what a request gets without `limit`, and the most it can get.
#[derive(Clone, Copy, Debug)]
pub struct PageSizes {
    /// Objects per page when the request gives no `limit`.
    pub default: usize,
    /// The largest page; a bigger `limit` is lowered to this (§3.4.1 lets the server).
    pub max: usize,
}

/// Reads a request's query string. `versions` is the endpoint's default `match[version]`.
pub fn parse(
    raw: Option<&str>,
    versions: VersionFilter,
    sizes: PageSizes,
) -> Result<Query, TaxiiError> {
    let mut query = Query {
        limit: sizes.default,
        versions,
        ..Query::default()
    };
    let mut version_given = false;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "added_after" => query.added_after = Some(timestamp("added_after", &value)?),
            "limit" => query.limit = limit(&value)?.min(sizes.max),
            "next" => query.after = Some(next(&value)?),
            "match[id]" => query.ids.extend(list(&value)),
            "match[type]" => query.types.extend(list(&value)),
            "match[spec_version]" => query.spec_versions.extend(list(&value)),
            "match[version]" => {
                if !version_given {
                    query.versions = VersionFilter::default();
                    version_given = true;
                }
                for v in list(&value) {
                    match v.as_str() {
                        "first" => query.versions.first = true,
                        "last" => query.versions.last = true,
                        "all" => query.versions.all = true,
                        _ => query.versions.at.push(timestamp("match[version]", &v)?),
                    }
                }
            }
            _ => {}
        }
    }
    for (name, values) in [
        ("match[id]", &query.ids),
        ("match[type]", &query.types),
        ("match[spec_version]", &query.spec_versions),
    ] {
        if values.len() > MAX_MATCH_VALUES {
            return Err(TaxiiError::bad_request(format!(
                "{name} lists {} values; at most {MAX_MATCH_VALUES} are taken per request",
                values.len()
            )));
        }
    }
    Ok(query)
}

/// The most values one `match[…]` filter may list: each becomes a bound parameter.
pub const MAX_MATCH_VALUES: usize = 1000;

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn timestamp(name: &str, value: &str) -> Result<Micros, TaxiiError> {
    Timestamp::parse(value)
        .map(|t| t.unix_micros())
        .map_err(|e| {
            TaxiiError::bad_request(format!(
                "{name}={value:?} is not a timestamp: {e} (e.g. 2024-01-01T00:00:00.000Z)"
            ))
        })
}

fn limit(value: &str) -> Result<usize, TaxiiError> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(TaxiiError::bad_request(format!(
            "limit={value:?} is not a positive integer"
        ))),
    }
}

/// `next` is the `date_added` (microseconds) of the last object of the previous page: a
/// keyset position, so it stays valid while objects are added and costs nothing to resume.
pub fn next_token(position: Micros) -> String {
    position.to_string()
}

fn next(value: &str) -> Result<Micros, TaxiiError> {
    value.parse::<Micros>().map_err(|_| {
        TaxiiError::bad_request(format!(
            "next={value:?} is not a value this server handed out; \
             use the next of the previous page unchanged"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: PageSizes = PageSizes {
        default: 100,
        max: 1000,
    };

    fn parse_ok(raw: &str) -> Query {
        parse(Some(raw), VersionFilter::last(), SIZES).unwrap()
    }

    #[test]
    fn filters() {
        let q = parse_ok("match%5Bid%5D=indicator--a,indicator--b&match[type]=indicator&limit=5000&added_after=2024-01-01T00:00:00Z&match[version]=first,2024-02-01T00:00:00.000Z&next=42&other=1");
        assert_eq!(q.ids, ["indicator--a", "indicator--b"]);
        assert_eq!(q.types, ["indicator"]);
        assert_eq!(q.limit, 1000);
        assert_eq!(q.added_after, Some(1_704_067_200_000_000));
        assert!(q.versions.first && !q.versions.last && q.versions.at == [1_706_745_600_000_000]);
        assert_eq!(q.after, Some(42));
        let d = parse_ok("");
        assert!(d.versions.last && d.limit == 100);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (raw, needle) in [
            ("limit=0", "limit"),
            ("limit=-1", "limit"),
            ("limit=ten", "limit"),
            ("added_after=yesterday", "added_after"),
            ("match[version]=newest", "match[version]"),
            ("next=%27%20OR%201%3D1", "next"),
            (
                &format!("match[id]={}", vec!["x"; 1001].join(",")),
                "match[id]",
            ),
        ] {
            let e = parse(Some(raw), VersionFilter::last(), SIZES).unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(format!("{e:?}").contains(needle), "{raw}: {e:?}");
        }
    }
}
