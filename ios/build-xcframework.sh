#!/usr/bin/env bash
# Builds MingaFFI.xcframework (libminga as a static library for iOS devices, the iOS simulator
# and macOS, with the C header and modulemap) and the Swift sources, for Package.swift.
# Runs on macOS with Xcode and rustup; not on this project's Linux machines.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target_dir=${CARGO_TARGET_DIR:-$root/target}
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)

rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
  # A static library for Apple's linkers; the crate itself builds cdylib + lib.
  cargo rustc --locked --release -p minga-ffi --features vendored-openssl --lib --target "$target" --crate-type staticlib
done

# Swift sources and the C header/modulemap come from the host build's metadata.
MINGA_PROFILE=release scripts/build-bindings

work=$target_dir/xcframework
rm -rf "$work" ios/MingaFFI.xcframework
mkdir -p "$work/ios-simulator" "$work/macos"
lipo -create -output "$work/ios-simulator/libminga.a" \
  "$target_dir/aarch64-apple-ios-sim/release/libminga.a" "$target_dir/x86_64-apple-ios/release/libminga.a"
lipo -create -output "$work/macos/libminga.a" \
  "$target_dir/aarch64-apple-darwin/release/libminga.a" "$target_dir/x86_64-apple-darwin/release/libminga.a"

xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/release/libminga.a" -headers ios/generated/include \
  -library "$work/ios-simulator/libminga.a" -headers ios/generated/include \
  -library "$work/macos/libminga.a" -headers ios/generated/include \
  -output ios/MingaFFI.xcframework

echo "built ios/MingaFFI.xcframework; now: cd ios && swift build"
