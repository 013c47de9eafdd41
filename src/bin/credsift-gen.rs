//! credsift-gen: the command line of the project's traffic generator (`credsift::gen`). It
//! writes the committed `samples/` directory and large benchmark captures with their ground
//! truth; nothing here analyses traffic.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use credsift::r#gen::bench::{BenchConfig, BenchFormat, generate};
use credsift::r#gen::{parse_size, samples};

#[derive(Parser)]
#[command(
    name = "credsift-gen",
    version,
    about = "Generate credsift's sample captures and benchmark traffic",
    after_help = "Examples:\n  credsift-gen samples --out samples\n  \
                  credsift-gen bench --out big.pcap --size 1G --seed 42 > truth.json\n  \
                  credsift-gen bench --out big.har --size 300M --seed 42 --format har"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the deterministic sample set and its README.md into DIR.
    Samples {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write realistic mixed traffic of about SIZE bytes; print its ground truth as JSON.
    Bench {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Target size: bytes, or with a unit (64k, 100M, 1G; binary multiples).
        #[arg(long, value_parser = size_arg)]
        size: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = Format::Pcap)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Pcap,
    Pcapng,
    Har,
}

fn size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.cmd {
        Cmd::Samples { out } => {
            let paths = samples::write_samples(&out)?;
            eprintln!("wrote {} files to {}", paths.len(), out.display());
        }
        Cmd::Bench {
            out,
            size,
            seed,
            format,
        } => {
            let format = match format {
                Format::Pcap => BenchFormat::Pcap,
                Format::Pcapng => BenchFormat::Pcapng,
                Format::Har => BenchFormat::Har,
            };
            let file = File::create(&out)?;
            let started = Instant::now();
            let truth = generate(
                BenchConfig { size, seed, format },
                BufWriter::with_capacity(1 << 20, file),
            )?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "wrote {} bytes to {} in {secs:.2} s ({:.0} MB/s)",
                truth.bytes_written,
                out.display(),
                truth.bytes_written as f64 / 1e6 / secs.max(1e-9)
            );
            println!("{}", serde_json::to_string_pretty(&truth)?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("credsift-gen: {e}");
            ExitCode::from(2)
        }
    }
}
