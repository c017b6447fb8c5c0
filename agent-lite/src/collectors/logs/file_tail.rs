//! Follows a log file as the Agent's file tailer does: from its end at start, line by line,
//! across rotation (the path now names another file: it is reopened from its start) and
//! truncation (the file got shorter: read again from its start).
//!
//! Polling rather than inotify: it sees rotation the same way on every file system,
//! including bind mounts, and a lab writes a few hundred lines a second at most.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Longest line kept whole; the rest of a longer one is dropped (the Agent cuts at 256 kB).
pub const MAX_LINE: usize = 256 * 1024;

pub struct Tail {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    inode: u64,
    offset: u64,
    /// A line not yet ended by a newline.
    partial: Vec<u8>,
    pub rotations: u64,
}

impl Tail {
    /// Starts at the end of the file if it exists (what was there before is history).
    pub fn new(path: PathBuf) -> Self {
        let mut t = Self {
            path,
            reader: None,
            inode: 0,
            offset: 0,
            partial: Vec::new(),
            rotations: 0,
        };
        if let Ok(meta) = std::fs::metadata(&t.path) {
            t.inode = meta.ino();
            t.offset = meta.len();
        }
        t
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The complete lines written since the last call.
    pub fn read_lines(&mut self) -> std::io::Result<Vec<String>> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // Between a rotation's rename and the new file's creation, or not created yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut lines = Vec::new();
        if meta.ino() != self.inode || meta.len() < self.offset {
            // Finish what the old file still had, then start the new one from its start.
            if let Some(reader) = self.reader.as_mut() {
                Self::drain(reader, &mut self.partial, &mut lines)?;
            }
            if meta.ino() != self.inode && self.inode != 0 {
                self.rotations += 1;
            }
            self.reader = None;
            self.inode = meta.ino();
            self.offset = 0;
            self.partial.clear();
        }
        if self.reader.is_none() {
            let mut f = File::open(&self.path)?;
            f.seek(SeekFrom::Start(self.offset))?;
            self.reader = Some(BufReader::new(f));
        }
        if let Some(reader) = self.reader.as_mut() {
            let read = Self::drain(reader, &mut self.partial, &mut lines)?;
            self.offset += read;
        }
        Ok(lines)
    }

    fn drain(
        reader: &mut BufReader<File>,
        partial: &mut Vec<u8>,
        lines: &mut Vec<String>,
    ) -> std::io::Result<u64> {
        let mut total = 0u64;
        loop {
            let mut buf = Vec::new();
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            if partial.len() < MAX_LINE {
                let room = MAX_LINE - partial.len();
                partial.extend_from_slice(&buf[..buf.len().min(room)]);
            }
            if buf.ends_with(b"\n") {
                let line = String::from_utf8_lossy(partial).trim_end().to_owned();
                partial.clear();
                if !line.is_empty() {
                    lines.push(line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &std::path::Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open");
        f.write_all(text.as_bytes()).expect("write");
    }

    #[test]
    fn follows_appends_rotation_and_truncation() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("app.log");
        append(&path, "old line\n");
        let mut tail = Tail::new(path.clone());
        assert!(
            tail.read_lines().expect("read").is_empty(),
            "starts at the end"
        );

        append(&path, "one\ntw");
        assert_eq!(tail.read_lines().expect("read"), vec!["one"]);
        append(&path, "o\n");
        assert_eq!(tail.read_lines().expect("read"), vec!["two"]);

        // Rotation: the file is renamed, a new one takes its path.
        append(&path, "last of the old file\n");
        std::fs::rename(&path, dir.path().join("app.log.1")).expect("rotate");
        append(&path, "first of the new file\n");
        assert_eq!(
            tail.read_lines().expect("read"),
            vec!["last of the old file", "first of the new file"]
        );
        assert_eq!(tail.rotations, 1);

        // Truncation in place (copytruncate).
        std::fs::write(&path, "").expect("truncate");
        append(&path, "after truncation\n");
        assert_eq!(tail.read_lines().expect("read"), vec!["after truncation"]);
    }

    #[test]
    fn a_file_that_appears_later_is_read_from_its_start() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("late.log");
        let mut tail = Tail::new(path.clone());
        assert!(tail.read_lines().expect("read").is_empty());
        append(&path, "hello\n");
        assert_eq!(tail.read_lines().expect("read"), vec!["hello"]);
    }
}
