//! lab-bench-report: reads the figures the benchmark's stages wrote (`<results>/data/*.json`,
//! see bench/lib.sh's `emit`) and writes `<results>/summary.md` (each figure, its peer, the
//! ratio, the target and whether it was met, then each stage's details) and the PNG plots
//! beside it; with `--readme`, the README's table between its `<!-- bench:summary -->`
//! markers too. bench/run calls it at the end; run it alone to redraw from the figures there.

mod data;
mod figures;
mod markdown;
mod plots;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "lab-bench-report",
    version,
    about = "Writes the benchmark's summary table and plots from the stages' figures"
)]
struct Cli {
    /// The results folder: bench/results (full runs) or bench/results/quick.
    #[arg(long, default_value = "bench/results")]
    results: PathBuf,

    /// Also replace the README's table between its `<!-- bench:summary -->` markers.
    #[arg(long, value_name = "README")]
    readme: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let results = data::Results::load(&cli.results)?;
    plots::register_font()?;
    let plots = plots::draw_all(&results, &cli.results)?;
    let summary = cli.results.join("summary.md");
    std::fs::write(&summary, markdown::summary(&results, &plots))
        .with_context(|| format!("cannot write {}", summary.display()))?;
    println!("lab-bench-report: wrote {}", summary.display());
    for p in &plots {
        println!(
            "lab-bench-report: wrote {}",
            cli.results.join(p.file).display()
        );
    }
    if let Some(readme) = &cli.readme {
        let text = std::fs::read_to_string(readme)
            .with_context(|| format!("cannot read {}", readme.display()))?;
        let section = markdown::readme_section(&results, &plots, &cli.results.to_string_lossy());
        let new = markdown::replace_section(&text, &section).map_err(anyhow::Error::msg)?;
        std::fs::write(readme, new)
            .with_context(|| format!("cannot write {}", readme.display()))?;
        println!(
            "lab-bench-report: updated the table in {}",
            readme.display()
        );
    }
    Ok(())
}
