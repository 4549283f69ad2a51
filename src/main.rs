//! The `flowinfra` binary: parse arguments, run, exit with the library's code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = flowinfra::cli::Cli::parse();
    flowinfra::run(cli)
}
