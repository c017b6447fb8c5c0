//! A check's verdict: what it found in place, what is missing (each a sentence that says what
//! to do), and notes that judge nothing; printed for a student, with the exit code.

use super::lang::{tr, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    Missing,
    Note,
}

#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<(Mark, String)>,
}

impl Report {
    pub fn ok(&mut self, text: String) {
        self.lines.push((Mark::Ok, text));
    }

    pub fn missing(&mut self, text: String) {
        self.lines.push((Mark::Missing, text));
    }

    pub fn note(&mut self, text: String) {
        self.lines.push((Mark::Note, text));
    }

    /// `ok` when `found`, else `missing`; returns `found`.
    pub fn expect(&mut self, found: bool, ok: String, missing: String) -> bool {
        if found {
            self.ok(ok);
        } else {
            self.missing(missing);
        }
        found
    }

    pub fn missing_count(&self) -> usize {
        self.lines
            .iter()
            .filter(|(m, _)| *m == Mark::Missing)
            .count()
    }

    pub fn passed(&self) -> bool {
        self.missing_count() == 0
    }

    /// The report as the student reads it: the exercise, one line per finding, the verdict.
    pub fn render(&self, number: u8, title: &str, verifies: &str, lang: Lang) -> String {
        let mut out = match lang {
            Lang::En => format!("Exercise {number}: {title}\n"),
            Lang::Fr => format!("Exercice {number} : {title}\n"),
        };
        out.push_str(&tr!(
            lang,
            "  (this check verifies: {verifies})\n",
            "  (ce contrôle vérifie : {verifies})\n"
        ));
        for (mark, text) in &self.lines {
            let tag = match (mark, lang) {
                (Mark::Ok, _) => "ok   ",
                (Mark::Missing, Lang::En) => "FAIL ",
                (Mark::Missing, Lang::Fr) => "ÉCHEC",
                (Mark::Note, _) => "info ",
            };
            out.push_str(&format!("  {tag} {text}\n"));
        }
        let missing = self.missing_count();
        out.push_str(&if missing == 0 {
            tr!(lang, "PASS", "RÉUSSI")
        } else {
            tr!(
                lang,
                "FAIL: {missing} thing(s) missing, see above",
                "ÉCHEC : {missing} point(s) manquant(s), voir ci-dessus"
            )
        });
        out.push('\n');
        out
    }
}
