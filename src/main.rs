fn main() {
    std::process::exit(cohsim::cli::main());
}
