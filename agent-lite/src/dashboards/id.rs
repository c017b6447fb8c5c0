//! Dashboard ids in Datadog's form (`abc-def-ghi`: three groups of three lowercase letters or
//! digits) and the slug of a dashboard's `url` (`/dashboard/{id}/{slug}`).

use std::hash::{BuildHasher as _, Hasher as _};

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Whether `id` has Datadog's form.
pub fn is_valid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 3
        && groups.iter().all(|g| {
            g.len() == 3
                && g.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn from_number(mut n: u64) -> String {
    let mut out = String::with_capacity(11);
    for i in 0..9 {
        if i == 3 || i == 6 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[(n % ALPHABET.len() as u64) as usize]));
        n /= ALPHABET.len() as u64;
    }
    out
}

/// The same id for the same text (FNV-1a): a file without an `id` keeps its id, and so its
/// links, across restarts. The page computes the same (`web/ui/lib/lab_dashboards.js`) to find
/// the lab's dashboards by their file names.
pub fn stable(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    from_number(h)
}

/// A new id for a dashboard made through the API: the standard library's per-process random
/// hash keys over the time and a sequence, enough to never repeat in one lab.
pub fn fresh(sequence: u64) -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(sequence);
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    from_number(hasher.finish())
}

/// `CPU & memory: demo` → `cpu-memory-demo`, as Datadog's dashboard urls read.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_datadogs_form() {
        assert!(is_valid("abc-def-ghi"));
        assert!(is_valid(&stable("infrastructure")));
        assert!(is_valid(&fresh(1)));
        assert_eq!(stable("x"), stable("x"));
        assert_ne!(fresh(1), fresh(2));
        for bad in ["abc-def", "ABC-def-ghi", "abc-de-fghi", "abc-def-gh!", ""] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    /// The page finds `compose/dashboards/*.json` by these (`lib/lab_dashboards.js`).
    #[test]
    fn file_ids_are_what_the_page_computes() {
        assert_eq!(stable("infrastructure"), "4an-id5-138");
        assert_eq!(stable("apm-service"), "3lc-jw4-q0n");
    }

    #[test]
    fn slugs_read_like_datadogs() {
        assert_eq!(slug("CPU & memory: demo"), "cpu-memory-demo");
        assert_eq!(slug("  Lab -- infrastructure!"), "lab-infrastructure");
        assert_eq!(slug("***"), "");
    }
}
