//! A Zeek Intelligence Framework file (`Intel::read_files`): one indicator per line, tab
//! separated, under a `#fields` header.

use super::{fits_a_line, Atom, Atoms, Kind};

/// The header every intel file starts with.
pub const HEADER: &str = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n";

/// The intel file of `atoms`, as `watchpost.intel`.
pub fn file(atoms: &Atoms) -> (String, String) {
    let mut out = String::from(HEADER);
    for atom in &atoms.atoms {
        let Some((value, kind)) = indicator(atom) else {
            continue;
        };
        let desc = description(atom);
        out.push_str(&format!("{value}\t{kind}\twatchpost\t{desc}\t-\n"));
    }
    ("watchpost.intel".into(), out)
}

/// The value as Zeek compares it, and its `Intel::Type`.
fn indicator(atom: &Atom) -> Option<(&str, &'static str)> {
    if !fits_a_line(&atom.value) || atom.value.contains(' ') {
        return None;
    }
    let kind = match atom.kind {
        Kind::Ip => "Intel::ADDR",
        Kind::Network => "Intel::SUBNET",
        Kind::Domain => "Intel::DOMAIN",
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => "Intel::FILE_HASH",
        Kind::Email => "Intel::EMAIL",
        // Zeek's URLs have no scheme: `example.com/path`.
        Kind::Url => {
            let rest = atom.value.split_once("://").map(|(_, r)| r)?;
            return Some((rest, "Intel::URL"));
        }
    };
    Some((atom.value.as_str(), kind))
}

/// The indicator's name and id, without the tabs and line breaks of the format.
fn description(atom: &Atom) -> String {
    let text = match &atom.name {
        Some(name) => format!("{name} ({})", atom.indicator),
        None => atom.indicator.clone(),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
