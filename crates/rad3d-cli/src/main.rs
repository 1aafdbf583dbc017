//! `rad3d`: the RAD3D-Prefix method as one command-line tool, from NIfTI volumes to
//! reports and the paper's tables.
//!
//! Every subcommand is a thin layer over the library (`rad3d_prefix`): it parses flags,
//! picks the backend for `--device`, shows progress and maps failures to exit codes
//! (0 success, 1 error, 2 usage, 3 partial failure with the failures listed).

#![forbid(unsafe_code)]

mod cmd;
mod device;
mod logging;
mod outcome;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// RAD3D-Prefix: radiology findings reports from 3D chest CT.
#[derive(Parser, Debug)]
#[command(name = "rad3d", version, propagate_version = true)]
#[command(about = "RAD3D-Prefix: radiology findings reports from 3D chest CT")]
struct Cli {
    #[command(flatten)]
    verbosity: logging::Verbosity,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, in the order of the method.
#[derive(Subcommand, Debug)]
enum Command {
    /// Preprocess a NIfTI CT exactly as CT-CLIP expects, or write a synthetic phantom.
    Preprocess(cmd::preprocess::Args),
    /// Build a label set and per-study labels from extracted report entities.
    #[command(subcommand)]
    Labels(cmd::labels::Command),
    /// Split a label CSV into train/test (and validation) parts, stratified on every label.
    Split(cmd::split::Args),
    /// Read the INSPECT layout into the per-split files the other commands take.
    Inspect(cmd::inspect::Args),
    /// Encode CT volumes with CT-CLIP into an embedding cache.
    Embed(cmd::embed::Args),
    /// Train or evaluate the multi-label anomaly classifier on cached latents.
    #[command(subcommand)]
    Classifier(cmd::classifier::Command),
    /// Train a RAD3D-Prefix variant (or a baseline) on cached embeddings.
    Train(cmd::train::Args),
    /// Turn a training run into a pipeline folder for `report`.
    Export(cmd::export::Args),
    /// Write findings reports (and every label's probability) for new scans.
    Report(cmd::report::Args),
    /// Continue a prompt with a GPT-2, LLaMA or BioGPT-family model.
    Generate(cmd::generate::Args),
    /// Score generated reports with every metric of the paper, with bootstrap intervals.
    Evaluate(cmd::evaluate::Args),
    /// Several systems against one reference set: the paper's tables with intervals and p-values.
    Compare(cmd::compare::Args),
    /// UMAP of prefix embeddings (or latents) coloured by a label: the paper's Fig. 6.
    Umap(cmd::umap::Args),
    /// Install or locate the data files of METEOR, BERTScore's encoder and the test LLM.
    #[command(subcommand)]
    Assets(cmd::assets::Command),
    /// The whole method on a synthetic cohort, no downloads.
    Quickstart(cmd::quickstart::Args),
}

fn main() -> ExitCode {
    // clap exits with 2 on a usage error and 0 for --help / --version.
    let cli = Cli::parse();
    logging::init(&cli.verbosity);
    let result = match cli.command {
        Command::Preprocess(args) => cmd::preprocess::run(args),
        Command::Labels(command) => cmd::labels::run(command),
        Command::Split(args) => cmd::split::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Embed(args) => cmd::embed::run(args),
        Command::Classifier(command) => cmd::classifier::run(command),
        Command::Train(args) => cmd::train::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Umap(args) => cmd::umap::run(args),
        Command::Quickstart(args) => cmd::quickstart::run(args),
        Command::Assets(command) => cmd::assets::run(command),
    };
    outcome::exit_code(result)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
