//! `cockpit`: every failure comes back here as one `Error`, printed once,
//! and the process ends with the code `exit.rs` gives it.

fn main() {
    let code = match cockpit::cli::main() {
        Ok(code) => code,
        Err(e) => {
            if !e.is_shown() {
                eprintln!("{e}");
            }
            e.code()
        }
    };
    std::process::exit(code);
}
