//! A container's log stream, as the Engine sends it with `timestamps=true`, back into lines:
//! bollard has already split Docker's multiplexed frames into stdout and stderr pieces;
//! each piece starts with its RFC 3339 timestamp, and a line longer than Docker's 16 kB
//! buffer comes as several pieces, only the last ending with a newline. Lines longer than
//! the Agent's 256 kB are cut.
//!
//! The cursor remembers where the stream was, so that a stream taken up again (Docker's
//! `since` is whole seconds) does not repeat the lines of that second already kept.

use super::super::file_tail::MAX_LINE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Nanoseconds since the epoch, as Docker stamped the line's first piece.
    pub ts: i64,
    pub stream: Stream,
    pub text: String,
    /// Longer than `MAX_LINE`: the rest was dropped.
    pub cut: bool,
}

#[derive(Debug, Default)]
struct Pending {
    ts: Option<i64>,
    buf: Vec<u8>,
    cut: bool,
}

impl Pending {
    fn push(&mut self, ts: i64, content: &[u8]) {
        self.ts.get_or_insert(ts);
        let room = MAX_LINE.saturating_sub(self.buf.len());
        if content.len() > room {
            self.cut = true;
        }
        self.buf
            .extend_from_slice(&content[..content.len().min(room)]);
    }

    fn take(&mut self, stream: Stream, now: i64) -> Option<Line> {
        let pending = std::mem::take(self);
        let text = String::from_utf8_lossy(&pending.buf).trim_end().to_owned();
        (!text.is_empty()).then(|| Line {
            ts: pending.ts.unwrap_or(now),
            stream,
            text,
            cut: pending.cut,
        })
    }
}

/// Lines in the making, one per stream: stdout and stderr pieces interleave.
#[derive(Debug, Default)]
pub struct Assembler {
    stdout: Pending,
    stderr: Pending,
}

impl Assembler {
    /// One piece of output; `now` (nanoseconds) stands for a timestamp that cannot be read.
    /// Complete lines are added to `out`.
    pub fn push(&mut self, stream: Stream, piece: &[u8], now: i64, out: &mut Vec<Line>) {
        let pending = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        let mut rest = piece;
        // A piece is one entry of Docker's log; over TCP, a TTY container's output may bring
        // several lines in one piece, each with its own timestamp.
        while !rest.is_empty() {
            let (ts, content) = split_timestamp(rest).unwrap_or((now, rest));
            let (segment, after, ended) = match content.iter().position(|b| *b == b'\n') {
                Some(i) => (&content[..i], &content[i + 1..], true),
                None => (content, &content[content.len()..], false),
            };
            pending.push(ts, segment);
            if ended {
                out.extend(pending.take(stream, now));
            }
            rest = after;
        }
    }

    /// What is left when the stream is over for good: a last line without its newline.
    pub fn finish(&mut self, now: i64, out: &mut Vec<Line>) {
        out.extend(self.stdout.take(Stream::Stdout, now));
        out.extend(self.stderr.take(Stream::Stderr, now));
    }

    /// Drops lines in the making: the stream is taken up again from before their start.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// `2024-05-01T12:00:00.123456789Z rest` into the time in nanoseconds and `rest`.
fn split_timestamp(piece: &[u8]) -> Option<(i64, &[u8])> {
    let space = piece.iter().take(40).position(|b| *b == b' ')?;
    let stamp = std::str::from_utf8(&piece[..space]).ok()?;
    let ts = chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()?
        .timestamp_nanos_opt()?;
    Some((ts, &piece[space + 1..]))
}

/// Where a container's log was read up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The newest line's time (or, before any, the time to start from).
    last: Option<i64>,
    /// Lines kept that carried exactly `last`.
    seen_at_last: u32,
    /// While taking up again: lines at `last` still to skip; `None` once past them.
    replay: Option<u32>,
}

impl Cursor {
    /// Lines before `ts` (nanoseconds) are history, not collected.
    pub fn starting_at(ts: i64) -> Self {
        Self {
            last: Some(ts),
            seen_at_last: 0,
            replay: Some(0),
        }
    }

    /// The `since` to ask the Engine for: the whole second of the last line.
    pub fn since_secs(&self) -> i64 {
        self.last.map_or(0, |ts| ts.div_euclid(1_000_000_000))
    }

    /// The stream is asked for again from `since_secs`: what follows up to the last line
    /// is a repeat.
    pub fn resume(&mut self) {
        if self.last.is_some() {
            self.replay = Some(self.seen_at_last);
        }
    }

    /// Whether a line stamped `ts` is new; a new line moves the cursor.
    pub fn admit(&mut self, ts: i64) -> bool {
        if let (Some(last), Some(skip)) = (self.last, self.replay.as_mut()) {
            if ts < last {
                return false;
            }
            if ts == last && *skip > 0 {
                *skip -= 1;
                return false;
            }
            self.replay = None;
        }
        match self.last {
            Some(last) if ts == last => self.seen_at_last += 1,
            // Live, stdout and stderr may be stamped a little out of order: the line is
            // kept, the cursor stays at the newest.
            Some(last) if ts < last => {}
            _ => {
                self.last = Some(ts);
                self.seen_at_last = 1;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000_000_000;

    fn stamp(ns: i64) -> String {
        chrono::DateTime::from_timestamp_nanos(ns)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    }

    fn piece(ns: i64, text: &str) -> Vec<u8> {
        format!("{} {text}", stamp(ns)).into_bytes()
    }

    #[test]
    fn pieces_become_lines_per_stream_with_their_first_timestamp() {
        let mut a = Assembler::default();
        let mut out = Vec::new();
        a.push(Stream::Stdout, &piece(T0, "{\"msg\":\"par"), 0, &mut out);
        a.push(Stream::Stderr, &piece(T0 + 1, "oops\n"), 0, &mut out);
        a.push(Stream::Stdout, &piece(T0 + 2, "tial\"}\n"), 0, &mut out);
        assert_eq!(
            out,
            vec![
                Line {
                    ts: T0 + 1,
                    stream: Stream::Stderr,
                    text: "oops".into(),
                    cut: false
                },
                Line {
                    ts: T0,
                    stream: Stream::Stdout,
                    text: "{\"msg\":\"partial\"}".into(),
                    cut: false
                },
            ]
        );
    }

    #[test]
    fn several_lines_in_one_piece_blank_lines_and_no_timestamp() {
        let mut a = Assembler::default();
        let mut out = Vec::new();
        let mut two = piece(T0, "one\r\n");
        two.extend(piece(T0 + 5, "two\n"));
        two.extend(piece(T0 + 6, "\n"));
        a.push(Stream::Stdout, &two, 0, &mut out);
        a.push(Stream::Stdout, b"bare line\n", 42, &mut out);
        a.push(Stream::Stdout, &piece(T0 + 7, "no newline"), 0, &mut out);
        a.finish(99, &mut out);
        let got: Vec<(i64, &str)> = out.iter().map(|l| (l.ts, l.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (T0, "one"),
                (T0 + 5, "two"),
                (42, "bare line"),
                (T0 + 7, "no newline")
            ]
        );
    }

    #[test]
    fn a_line_over_256_kb_is_cut() {
        let mut a = Assembler::default();
        let mut out = Vec::new();
        let chunk = "x".repeat(16 * 1024);
        for i in 0..20 {
            a.push(Stream::Stdout, &piece(T0 + i, &chunk), 0, &mut out);
        }
        assert!(out.is_empty());
        a.push(Stream::Stdout, &piece(T0 + 20, "end\n"), 0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text.len(), MAX_LINE);
        assert!(out[0].cut);
        assert_eq!(out[0].ts, T0);
    }

    #[test]
    fn taking_up_again_skips_exactly_what_was_kept() {
        let mut c = Cursor::starting_at(T0);
        assert!(!c.admit(T0 - 1), "before the start");
        assert!(c.admit(T0 + 10));
        assert!(c.admit(T0 + 10), "two lines may share a time");
        assert!(c.admit(T0 + 5), "live, out of order, kept");
        assert_eq!(c.since_secs(), 1_800_000_000);

        c.resume();
        // The Engine repeats the whole second.
        assert!(!c.admit(T0 + 5));
        assert!(!c.admit(T0 + 10));
        assert!(!c.admit(T0 + 10));
        assert!(c.admit(T0 + 10), "a third line at that time is new");
        assert!(c.admit(T0 + 11));
        c.resume();
        assert!(!c.admit(T0 + 11));
        assert!(c.admit(T0 + 12));
    }
}
