//! The workspace's uniffi-bindgen-swift: Swift sources, C headers and an XCFramework-ready
//! modulemap for `ios/build-xcframework.sh`.

fn main() {
    uniffi::uniffi_bindgen_swift()
}
