//! Gives the shared library its soname, as a C library's users expect: `libsessmgr.so.MAJOR`,
//! or `libsessmgr.so.0.MINOR` while the major version is 0 (where a minor release may break).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
        let soname = if major == "0" {
            format!("libsessmgr.so.0.{minor}")
        } else {
            format!("libsessmgr.so.{major}")
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
