//! The `auth-verify` binary: parses the command line and runs the service.

fn main() {}
