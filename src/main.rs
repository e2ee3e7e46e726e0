//! `doisoat`: the command line. Thin: the commands live in `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
