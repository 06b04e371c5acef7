//! A WASI command: greets its arguments and prints a checksum of the shared text.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let who = if args.is_empty() { "world".to_string() } else { args.join(" ") };
    println!("hello, {who}!");
    let words = demo_shared::words(demo_shared::TEXT);
    println!("greet: {} words, checksum {:016x}", words.len(), demo_shared::checksum(demo_shared::TEXT.as_bytes()));
}
