//! The C ABI: a thin layer over the one global [`Registry`]. Each function converts its
//! arguments, calls the core through the shared boundary ([`boundary::call`]) and converts the
//! result. Nothing else lives here.
//!
//! The header `include/sessmgr.h` is generated from these modules by cbindgen.

#![allow(non_camel_case_types)]

use std::sync::LazyLock;

use crate::registry::Registry;

pub mod admin;
mod boundary;
pub mod clients;
pub mod library;
pub mod otp;
pub mod privileges;
pub mod sessions;
pub mod status;
pub mod storage;
mod strings;
pub mod users;

/// The registry that every exported function works on.
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn registry() -> &'static Registry {
    &REGISTRY
}
