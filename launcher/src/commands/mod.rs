pub mod doctor;
pub mod presets;
pub mod print;
pub mod save;
#[cfg(unix)]
pub mod save_service;
#[cfg(unix)]
pub mod serve;
pub mod status;
