// Minga as an Android library (AAR): the generated UniFFI bindings and the wrappers in
// src/main/kotlin (the same sources pom.xml builds for the JVM), JNA's AAR, and libminga.so for
// each ABI, cross-compiled by `cargo ndk`. Needs the Android SDK and NDK, rustup with the
// Android targets and cargo-ndk (`cargo install cargo-ndk`); not built on this project's
// machines, where pom.xml builds and tests the same Kotlin on the desktop JVM.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.3.21"
}

val repoRoot: File = rootDir.parentFile
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64", "x86")
val jniLibsDir = layout.buildDirectory.dir("jniLibs")

android {
    namespace = "org.minga"
    compileSdk = 35
    defaultConfig {
        minSdk = 26 // java.time, which the generated bindings use for dates, without desugaring
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].apply {
        java.srcDirs("src/main/kotlin", "generated/kotlin")
        jniLibs.srcDir(jniLibsDir)
    }
    // src/test holds the JVM suite, which needs the host library: run it with Maven instead.
    sourceSets["test"].java.setSrcDirs(emptyList<String>())
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    // The AAR carries JNA's own native dispatch library for every Android ABI.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}

// libminga.so for each ABI, in release (SQLCipher and OpenSSL are vendored and cross-compiled).
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    val targets = abis.flatMap { listOf("-t", it) }
    commandLine(listOf("cargo", "ndk") + targets + listOf("-o", jniLibsDir.get().asFile.path, "build", "--release", "--locked", "-p", "minga-ffi", "--features", "vendored-openssl"))
}

// The Kotlin sources are generated from the host build of the same crate.
val generateBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    environment("MINGA_PROFILE", "release")
    commandLine("scripts/build-bindings")
}

tasks.named("preBuild") {
    dependsOn(cargoNdk, generateBindings)
}
