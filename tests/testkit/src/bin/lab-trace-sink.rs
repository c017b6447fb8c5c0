//! `lab-trace-sink --listen ADDR`: the trace sink as a process, for benches. It counts spans
//! without keeping them and serves the counts at `GET /test/counts`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "A Datadog-compatible trace receiver that counts what tracers send")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8126")]
    listen: std::net::SocketAddr,
    /// Keep every span (served at /test/traces) instead of only counting.
    #[arg(long)]
    keep_spans: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sink = lab_testkit::trace_sink::TraceSink::start_on(args.listen, args.keep_spans)?;
    eprintln!("lab-trace-sink listening on {}", sink.addr);
    sink.serve_forever();
    Ok(())
}
