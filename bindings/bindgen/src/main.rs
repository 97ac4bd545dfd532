//! The workspace's uniffi-bindgen, pinned to the uniffi version the bindings are built with
//! (the generated code and the library's scaffolding must match exactly).

fn main() {
    uniffi::uniffi_bindgen_main()
}
