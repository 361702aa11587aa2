//! bpfkit-exporter — the tools' BPF programs as Prometheus metrics: one
//! process per node serves http://ADDR/metrics (docs/bpfkit-exporter.md).
//!
//! The logic lives in the library (src/export/): collectors, the metric
//! encoding and the HTTP side.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use bpfkit::args::bpfkit_exporter::Args;
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main(
        "bpfkit-exporter",
        || bpfkit::export::run::run(Args::parse()),
    )
}
