//! `error.stack` as a reader wants it: the frames where the error was made, innermost first,
//! in the layout of Rust's own backtraces, at most [`MAX_FRAMES`] of them, with generic
//! arguments left out of function names.
//!
//! Why not `std::backtrace::Backtrace` as it prints: through actix and tokio a backtrace is
//! 70-odd frames whose names carry whole type trees (`poll<actix_service::map_err::MapErr<...`),
//! over 100 KB a stack. Every error span carried that to the agent, and in agent-lite's trace
//! store a burst of errors pushed every other trace out. The frames come from the backtrace
//! crate (the one std's backtrace is built on), which gives them one by one.

use std::fmt::Write;

/// Frames kept, as Datadog's Go tracer keeps by default (`WithStackFrames`, 32).
pub const MAX_FRAMES: usize = 32;

/// The stack of the caller, without the frames of its own capture.
pub fn capture() -> String {
    let mut out = String::new();
    let mut index = 0;
    let mut in_capture = true;
    backtrace::trace(|frame| {
        backtrace::resolve_frame(frame, |symbol| {
            let Some(name) = symbol.name().map(|n| without_generics(&format!("{n:#}"))) else {
                return;
            };
            // The frames of this capture: the backtrace crate's, this function and the error
            // constructor that called it (inlined frames carry short names, without paths).
            if in_capture {
                let function = name.rsplit("::").next().unwrap_or_default();
                let in_backtrace = name.starts_with("backtrace::")
                    || symbol
                        .filename()
                        .is_some_and(|f| f.to_string_lossy().contains("/backtrace-"));
                if in_backtrace || matches!(function, "capture" | "dependency") {
                    return;
                }
                in_capture = false;
            }
            if index >= MAX_FRAMES {
                return;
            }
            let _ = writeln!(out, "{index:>4}: {name}");
            if let (Some(file), Some(line)) = (symbol.filename(), symbol.lineno()) {
                let _ = writeln!(out, "             at {}:{line}", file.display());
            }
            index += 1;
        });
        index < MAX_FRAMES
    });
    out
}

/// `poll<alloc::boxed::Box<dyn Future<Output = ()>>>` -> `poll`; `<A<T> as B<U>>::call` ->
/// `<A as B>::call`. A `<` right after a name opens generic arguments, which are dropped
/// whole; any other `<` opens a qualified path, which is kept. Hand-written: a demangled
/// name is not Rust source that a parser crate would take (`{async_block#0}`, `{{closure}}`).
pub fn without_generics(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(200));
    let mut skipping = 0usize;
    let mut previous = ' ';
    for c in name.chars() {
        if skipping > 0 {
            match c {
                '<' => skipping += 1,
                // `->` in a function type is no closing bracket.
                '>' if previous != '-' => skipping -= 1,
                _ => {}
            }
        } else if c == '<' && (previous.is_alphanumeric() || matches!(previous, '_' | '}')) {
            skipping = 1;
        } else {
            out.push(c);
        }
        previous = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_arguments_are_dropped_and_qualified_paths_kept() {
        assert_eq!(
            without_generics("poll<alloc::boxed::Box<dyn Fn(u8) -> u8>, ()>"),
            "poll"
        );
        assert_eq!(
            without_generics("<actix_service::and_then::AndThenService<A, B> as actix_service::Service<Req>>::call"),
            "<actix_service::and_then::AndThenService as actix_service::Service>::call"
        );
        assert_eq!(
            without_generics("{async_block#0}<actix_web::resource::ResourceEndpoint>"),
            "{async_block#0}"
        );
        assert_eq!(
            without_generics("demo_service::http::routes::checkout::place_order"),
            "demo_service::http::routes::checkout::place_order"
        );
    }

    #[inline(never)]
    fn deep(n: usize) -> String {
        if n == 0 {
            capture()
        } else {
            std::hint::black_box(deep(n - 1))
        }
    }

    #[test]
    fn the_stack_starts_at_the_caller_and_is_bounded() {
        let stack = deep(3);
        let first = stack.lines().next().unwrap_or_default();
        assert!(first.contains("deep"), "{stack}");
        assert!(
            !stack.contains("/backtrace-0."),
            "the capture's own frames: {stack}"
        );
        let stack = deep(100);
        let frames = stack
            .lines()
            .filter(|l| !l.trim_start().starts_with("at "))
            .count();
        assert_eq!(frames, MAX_FRAMES, "{stack}");
    }
}
