// include_dir! and embed_migrations! do not notice newly added files on stable Rust; this makes cargo
// rebuild when anything under these folders changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=static");
}
