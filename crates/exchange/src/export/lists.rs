//! Plain lists, one value per line per kind, and the exported indicators as a STIX bundle.

use super::{fits_a_line, Atoms, Kind};
use serde_json::{json, Value};

/// `ip.txt`, `network.txt`, `domain.txt`, `url.txt`, `md5.txt`, `sha1.txt`, `sha256.txt`,
/// `email.txt`: the kinds that have values.
pub fn files(atoms: &Atoms) -> Vec<(String, String)> {
    let kinds = [
        (Kind::Ip, "ip"),
        (Kind::Network, "network"),
        (Kind::Domain, "domain"),
        (Kind::Url, "url"),
        (Kind::Md5, "md5"),
        (Kind::Sha1, "sha1"),
        (Kind::Sha256, "sha256"),
        (Kind::Email, "email"),
    ];
    let mut out = Vec::new();
    for (kind, name) in kinds {
        let text: String = atoms
            .of_kind(kind)
            .filter(|a| fits_a_line(&a.value))
            .map(|a| format!("{}\n", a.value))
            .collect();
        if !text.is_empty() {
            out.push((format!("{name}.txt"), text));
        }
    }
    out
}

/// A bundle of `objects`, its id derived from theirs, so the same content is the same file.
pub fn bundle(objects: &[Value]) -> (String, String) {
    let mut ids: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str))
        .collect();
    ids.sort_unstable();
    let namespace = uuid::Uuid::from_u128(0x6a2b_0f3e_5c1d_4e8a_9b7f_2d4c_6e8a_0b1c);
    let id = uuid::Uuid::new_v5(&namespace, ids.join("\n").as_bytes());
    let bundle = json!({"type": "bundle", "id": format!("bundle--{id}"), "objects": objects});
    ("bundle.json".into(), bundle.to_string())
}
