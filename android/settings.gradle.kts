// The Android library module for Minga (not built on this project's Linux machines; see
// README "Kotlin"). The desktop-JVM build and tests of the same sources use pom.xml.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "minga-android"
