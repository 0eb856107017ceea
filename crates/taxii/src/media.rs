//! TAXII 2.1 media types and content negotiation (specification §1.6.8).

use axum::http::{header, HeaderMap};

/// The media type of every TAXII 2.1 resource.
pub const TAXII: &str = "application/taxii+json;version=2.1";
/// The media type of STIX 2.1 content, as listed in collections and manifests.
pub const STIX: &str = "application/stix+json;version=2.1";

/// One `type/subtype;params` entry of an Accept or Content-Type header.
struct MediaRange<'a> {
    essence: String,
    version: Option<&'a str>,
    q_zero: bool,
}

fn ranges(value: &str) -> impl Iterator<Item = MediaRange<'_>> {
    value.split(',').map(|range| {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("").to_ascii_lowercase();
        let (mut version, mut q_zero) = (None, false);
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("version") => {
                    version = Some(v.trim().trim_matches('"'))
                }
                Some((k, v)) if k.trim() == "q" => q_zero = v.trim().parse::<f32>() == Ok(0.0),
                _ => {}
            }
        }
        MediaRange {
            essence,
            version,
            q_zero,
        }
    })
}

/// Whether a request's Accept header lets us answer with TAXII 2.1 JSON. A request without
/// one accepts anything (RFC 9110 §12.5.1).
pub fn accepts_taxii(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return true;
    };
    let Ok(accept) = accept.to_str() else {
        return false;
    };
    ranges(accept).any(|r| {
        !r.q_zero
            && match r.essence.as_str() {
                "*/*" | "application/*" => true,
                "application/taxii+json" => r.version.is_none_or(|v| v == "2.1"),
                _ => false,
            }
    })
}

/// Whether a request's Content-Type is TAXII 2.1 JSON (the only body TAXII accepts).
pub fn is_taxii_content(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            ranges(v).take(1).any(|r| {
                r.essence == "application/taxii+json" && r.version.is_none_or(|v| v == "2.1")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            name,
            HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn accept_negotiation() {
        for ok in [
            TAXII,
            "application/taxii+json",
            "*/*",
            "text/html, application/taxii+json; version=2.1",
            "application/*",
        ] {
            assert!(accepts_taxii(&with(header::ACCEPT, ok)), "{ok}");
        }
        for no in [
            "application/taxii+json;version=2.0",
            "text/html",
            "application/json",
            "application/taxii+json;q=0",
        ] {
            assert!(!accepts_taxii(&with(header::ACCEPT, no)), "{no}");
        }
        assert!(accepts_taxii(&HeaderMap::new()));
    }

    #[test]
    fn content_type() {
        assert!(is_taxii_content(&with(header::CONTENT_TYPE, TAXII)));
        assert!(is_taxii_content(&with(
            header::CONTENT_TYPE,
            "application/taxii+json; version=2.1"
        )));
        for no in [
            "application/json",
            "application/stix+json;version=2.1",
            "application/taxii+json;version=2.0",
            "",
        ] {
            assert!(!is_taxii_content(&with(header::CONTENT_TYPE, no)), "{no}");
        }
        assert!(!is_taxii_content(&HeaderMap::new()));
    }
}
