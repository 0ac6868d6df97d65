pub mod doctor;
pub mod presets;
pub mod print;
pub mod save;
#[cfg(all(unix, feature = "service"))]
pub mod save_service;
#[cfg(all(unix, feature = "service"))]
pub mod serve;
pub mod status;
